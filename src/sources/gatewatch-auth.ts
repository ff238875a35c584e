import { GatewatchError } from '../errors.js';
import { verifyGatewatchSignature } from '../signing.js';
import { header, type InboundRequest } from './types.js';

const REFUSALS = {
  missing: 'missing X-Gatewatch-Timestamp or X-Gatewatch-Signature header',
  stale: 'X-Gatewatch-Timestamp is not within five minutes of now',
  mismatch: 'X-Gatewatch-Signature does not match the body',
} as const;

/** The generic and changes hooks' authentication; throws UNAUTHORIZED saying what was wrong. */
export function requireGatewatchSignature(
  req: InboundRequest,
  secret: string | undefined,
  nowMs: number,
  hook: string,
): void {
  if (!secret)
    throw new GatewatchError(
      'UNAUTHORIZED',
      `${hook} webhooks are disabled: GATEWATCH_WEBHOOK_SECRET is not set`,
    );
  const result = verifyGatewatchSignature(
    req.body,
    header(req, 'x-gatewatch-timestamp'),
    header(req, 'x-gatewatch-signature'),
    secret,
    nowMs,
  );
  if (result !== 'ok') throw new GatewatchError('UNAUTHORIZED', REFUSALS[result]);
}
