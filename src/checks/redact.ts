/** `scheme://user:password@`, anywhere in a text: clients like to echo the URL they were given. */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi;

export const REDACTED = '[redacted]';

/** Blanks the userinfo of every URL in a text; the host stays, so the evidence still says where. */
export function redactUserinfo(text: string): string {
  return text.replace(USERINFO, `$1${REDACTED}@`);
}

/** Applies a scrubber to every string in a JSON-like value. */
export function scrubDeep<T>(value: T, scrub: (s: string) => string): T {
  if (typeof value === 'string') return scrub(value) as T;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, scrub)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, scrub);
    return out as T;
  }
  return value;
}
