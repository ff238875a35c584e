import { z } from 'zod';
import { GatewatchError } from '../errors.js';
import { requireGatewatchSignature } from './gatewatch-auth.js';
import { type AlertSource, header } from './types.js';

const GenericAlert = z.object({
  service: z.string().min(1),
  title: z.string().min(1),
  status: z.enum(['triggered', 'resolved']),
  id: z.string().min(1),
  started_at: z.iso.datetime({ offset: true }).optional(),
  url: z.url().optional(),
});

/**
 * gatewatch's own hook for any tool that can sign a request: it names the
 * service outright, so no match rule is needed.
 */
export const genericSource: AlertSource = {
  name: 'generic',
  contentTypes: ['application/json'],

  authenticate(req, config, nowMs) {
    requireGatewatchSignature(req, config.GATEWATCH_WEBHOOK_SECRET, nowMs, 'generic');
  },

  parse(body, req, nowMs) {
    const parsed = GenericAlert.safeParse(body);
    if (!parsed.success)
      throw new GatewatchError('BAD_REQUEST', `not a gatewatch alert: ${z.prettifyError(parsed.error)}`);
    const a = parsed.data;
    return {
      // A signature covers timestamp and body: the same one again is a replay or a retry of this very request.
      deliveryId: header(req, 'x-gatewatch-signature'),
      alerts: [
        {
          source: 'generic',
          key: a.id,
          event: a.status,
          title: a.title,
          serviceIds: [],
          labels: {},
          service: a.service,
          url: a.url,
          startedAt: a.started_at ? new Date(a.started_at).toISOString() : new Date(nowMs).toISOString(),
        },
      ],
    };
  },
};
