import { z } from 'zod';
import { errorMessage, GatewatchError, isGatewatchError } from '../errors.js';
import type { Logger } from '../log.js';
import { requireGatewatchSignature } from '../sources/gatewatch-auth.js';
import type { InboundRequest } from '../sources/types.js';
import type { ChangeEvent, RecordedChange } from '../store/change-events.js';

/** The contract's change body; extra fields from a sender's tooling are dropped, not refused. */
export const ChangeBodySchema = z.object({
  service: z.string().min(1).max(200),
  kind: z.enum(['deploy', 'config']),
  ref: z.string().min(1).max(200),
  summary: z.string().min(1).max(2000),
  author: z.string().min(1).max(200).optional(),
  /** ISO-8601 with an offset, or unix seconds; absent means now. */
  at: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]).optional(),
});

export interface ChangesHookDeps {
  /** GATEWATCH_WEBHOOK_SECRET; without it the hook refuses everything. */
  secret: string | undefined;
  store: { record(event: ChangeEvent): Promise<RecordedChange | null> };
  /** The services with a playbook: events for others are ignored. */
  services: { has(service: string): boolean };
  log: Logger;
  now?: () => number;
}

export interface ChangesHook {
  contentTypes: readonly string[];
  /** `json` is the body already parsed by the HTTP layer. */
  handle(req: InboundRequest, json: unknown): Promise<{ status: number; body: unknown }>;
}

function toEvent(body: z.infer<typeof ChangeBodySchema>, nowMs: number): ChangeEvent {
  const at =
    body.at === undefined
      ? new Date(nowMs)
      : typeof body.at === 'number'
        ? new Date(body.at * 1000)
        : new Date(body.at);
  // Fixed key order: the stored JSON of a retried delivery is then identical and lands on the same member.
  return {
    service: body.service,
    kind: body.kind,
    ref: body.ref,
    summary: body.summary,
    ...(body.author ? { author: body.author } : {}),
    at: at.toISOString(),
  };
}

/** `POST /webhooks/changes`: a deploy or config change, signed like the generic hook, kept for the changes check. */
export function createChangesHook(deps: ChangesHookDeps): ChangesHook {
  return {
    contentTypes: ['application/json'],
    async handle(req, json) {
      const nowMs = deps.now?.() ?? Date.now();
      requireGatewatchSignature(req, deps.secret, nowMs, 'change');
      const parsed = ChangeBodySchema.safeParse(json);
      if (!parsed.success)
        throw new GatewatchError('BAD_REQUEST', `not a gatewatch change: ${z.prettifyError(parsed.error)}`);
      if (!deps.services.has(parsed.data.service))
        return { status: 200, body: { ignored: `no playbook for service "${parsed.data.service}"` } };
      const event = toEvent(parsed.data, nowMs);
      let recorded: RecordedChange | null;
      try {
        recorded = await deps.store.record(event);
      } catch (err) {
        if (isGatewatchError(err)) throw err;
        throw new GatewatchError(
          'REDIS_UNAVAILABLE',
          `the change could not be stored: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      }
      if (!recorded)
        return { status: 200, body: { ignored: `change at ${event.at} is older than the retention` } };
      deps.log.info(
        { change: recorded.id, service: event.service, kind: event.kind, ref: event.ref },
        'change recorded',
      );
      return { status: 202, body: { change: recorded.id, status: 'recorded' } };
    },
  };
}
