import { REDACTED, redactUserinfo } from '../redact.js';

export { scrubDeep } from '../redact.js';

/** Query parameters that carry secrets in DSNs (`?password=`, `?sslpassword=`, `?sslkey=`). */
const SECRET_PARAMS = /^(password|sslpassword|sslkey|passfile|auth|token)$/i;

function secretsOf(dsn: string): string[] {
  const found = new Set<string>([dsn]);
  try {
    const url = new URL(dsn);
    if (url.password) {
      found.add(url.password);
      found.add(safeDecode(url.password));
    }
    for (const [k, v] of url.searchParams) if (SECRET_PARAMS.test(k) && v) found.add(v);
  } catch {
    // Not a URL: the whole DSN is the only thing we know to hide.
  }
  // Longest first, so a password inside the DSN never leaves half the DSN behind.
  return [...found].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A function that blanks the DSN, its password and any `user:pass@` out of a text. */
export function dsnScrubber(dsn: string): (text: string) => string {
  const secrets = secretsOf(dsn);
  return (text) => {
    let out = text;
    for (const s of secrets) out = out.split(s).join(REDACTED);
    return redactUserinfo(out);
  };
}

/** host:port/database of a DSN, with no credentials, for evidence and summaries. */
export function describeTarget(dsn: string, defaultPort: number): string {
  const url = new URL(dsn);
  const host = url.hostname || 'localhost';
  const port = url.port || String(defaultPort);
  const db = url.pathname.replace(/^\//, '');
  return `${host}:${port}${db ? `/${decodeURIComponent(db)}` : ''}`;
}
