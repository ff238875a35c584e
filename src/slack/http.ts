import { z } from 'zod';
import { GatewatchError } from '../errors.js';
import { header, type InboundRequest } from '../inbound.js';
import { verifySlackSignature } from '../signing.js';
import { type InProcessReceiver, JSON_TYPE, type SlackHttpAnswer } from './receiver.js';

/** Parses a Slack request body by its content type, the way Slack sends each kind. */
export function parseSlackBody(contentType: string, raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (contentType === 'application/json') return JSON.parse(text) as Record<string, unknown>;
  const form = Object.fromEntries(new URLSearchParams(text));
  if (typeof form.payload === 'string') return JSON.parse(form.payload) as Record<string, unknown>;
  return form;
}

const User = z.looseObject({ id: z.string() });

/** The kinds of request gatewatch handles, checked before Bolt sees them: a signed but malformed body is a 400. */
const SlackRequest = z.union([
  z.looseObject({ command: z.string().min(1), text: z.string().optional() }),
  z.looseObject({ type: z.literal('event_callback'), event: z.looseObject({ type: z.string() }) }),
  z.looseObject({
    type: z.enum([
      'block_actions',
      'block_suggestion',
      'view_submission',
      'view_closed',
      'shortcut',
      'message_action',
    ]),
    user: User.optional(),
    actions: z.array(z.looseObject({ action_id: z.string().optional() })).optional(),
    view: z.looseObject({}).optional(),
  }),
]);

/** POST /slack/events: verify Slack's v0 signature, answer url_verification, hand the rest to Bolt. */
export async function handleSlackRequest(
  req: InboundRequest,
  contentType: string,
  deps: { signingSecret: string | undefined; receiver: InProcessReceiver; now: () => number },
): Promise<SlackHttpAnswer> {
  if (!deps.signingSecret)
    throw new GatewatchError('UNAUTHORIZED', 'Slack is disabled: SLACK_SIGNING_SECRET is not set');
  const verdict = verifySlackSignature(
    req.body,
    header(req, 'x-slack-request-timestamp'),
    header(req, 'x-slack-signature'),
    deps.signingSecret,
    deps.now(),
  );
  if (verdict !== 'ok') {
    const why = {
      missing: 'missing Slack signature headers',
      stale: 'Slack request timestamp is older than 5 minutes',
      mismatch: 'Slack signature does not match',
    }[verdict];
    throw new GatewatchError('UNAUTHORIZED', why);
  }
  let body: Record<string, unknown>;
  try {
    body = parseSlackBody(contentType, req.body);
  } catch (err) {
    throw new GatewatchError('BAD_REQUEST', `malformed Slack payload: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new GatewatchError('BAD_REQUEST', 'malformed Slack payload: not a JSON object');
  if (body.type === 'url_verification')
    return {
      status: 200,
      body: JSON.stringify({ challenge: body.challenge }),
      contentType: JSON_TYPE,
    };
  if (body.ssl_check) return { status: 200, body: '', contentType: 'text/plain' };
  const known = SlackRequest.safeParse(body);
  if (!known.success)
    throw new GatewatchError('BAD_REQUEST', 'not a Slack command, interaction or event payload');
  const num = header(req, 'x-slack-retry-num');
  return deps.receiver.dispatch(body, {
    num: num ? Number(num) : undefined,
    reason: header(req, 'x-slack-retry-reason'),
  });
}
