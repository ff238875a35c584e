import { createHmac, timingSafeEqual } from 'node:crypto';

export function hmacHex(secret: string, ...parts: (string | Buffer)[]): string {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Constant-time comparison of two hex strings of possibly different length. */
export function safeEqualHex(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** PagerDuty v3: any `v1=` entry of the header matches an HMAC of the raw body under any secret. */
export function verifyPagerDutySignature(body: Buffer, header: string, secrets: readonly string[]): boolean {
  const given = header
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='))
    .map((s) => s.slice(3).toLowerCase());
  if (given.length === 0) return false;
  const expected = secrets.map((s) => hmacHex(s, body));
  return given.some((g) => expected.some((e) => safeEqualHex(g, e)));
}

export const SIGNATURE_WINDOW_SECONDS = 300;

export type TimestampedVerdict = 'ok' | 'missing' | 'stale' | 'mismatch';

/** The scheme Slack and gatewatch's own hooks share: a signed timestamp within five minutes. */
function verifyTimestamped(
  timestamp: string | undefined,
  signature: string | undefined,
  nowMs: number,
  expected: (timestamp: string) => string,
): TimestampedVerdict {
  if (!timestamp || !signature) return 'missing';
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowMs / 1000 - ts) > SIGNATURE_WINDOW_SECONDS) return 'stale';
  return safeEqualHex(signature, expected(timestamp)) ? 'ok' : 'mismatch';
}

/** Slack v0: `v0=` HMAC of `v0:TIMESTAMP:BODY`. */
function slackSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return `v0=${hmacHex(secret, `v0:${timestamp}:`, body)}`;
}

/** gatewatch's own hooks: `sha256=` HMAC of `TIMESTAMP.BODY`. */
function gatewatchSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return `sha256=${hmacHex(secret, `${timestamp}.`, body)}`;
}

/** Slack v0 request signing, within five minutes. */
export function verifySlackSignature(
  body: Buffer,
  timestamp: string | undefined,
  signature: string | undefined,
  secret: string,
  nowMs: number,
): TimestampedVerdict {
  return verifyTimestamped(timestamp, signature, nowMs, (ts) => slackSignature(secret, ts, body));
}

/** gatewatch's own hooks' signing, within five minutes. */
export function verifyGatewatchSignature(
  body: Buffer,
  timestamp: string | undefined,
  signature: string | undefined,
  secret: string,
  nowMs: number,
): TimestampedVerdict {
  return verifyTimestamped(timestamp, signature, nowMs, (ts) => gatewatchSignature(secret, ts, body));
}

export function signGatewatch(body: string | Buffer, secret: string, nowMs = Date.now()) {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { timestamp, signature: gatewatchSignature(secret, timestamp, body) };
}

export function signPagerDuty(body: string | Buffer, secret: string): string {
  return `v1=${hmacHex(secret, body)}`;
}

export function signSlack(body: string | Buffer, secret: string, nowMs = Date.now()) {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { timestamp, signature: slackSignature(secret, timestamp, body) };
}
