import { createHash, timingSafeEqual } from 'node:crypto';
import { GatewatchError } from '../errors.js';
import { header, type InboundRequest } from './types.js';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Requires `Authorization: Bearer TOKEN` with one of `tokens`. Both sides are
 * hashed first so the comparison takes the same time whatever the lengths.
 */
export function requireBearer(req: InboundRequest, tokens: readonly string[], what: string): void {
  if (tokens.length === 0)
    throw new GatewatchError('UNAUTHORIZED', `${what} webhooks are disabled: no token is configured`);
  const auth = header(req, 'authorization');
  const given = auth && /^bearer\s+(.+)$/i.exec(auth.trim())?.[1];
  if (!given) throw new GatewatchError('UNAUTHORIZED', 'missing "Authorization: Bearer" header');
  const g = digest(given);
  // Every token is compared, matching or not, so timing says nothing about which one was close.
  const ok = tokens.map((t) => timingSafeEqual(g, digest(t))).some(Boolean);
  if (!ok) throw new GatewatchError('UNAUTHORIZED', 'the bearer token is not the configured one');
}
