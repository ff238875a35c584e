import { z } from 'zod';
import { type KubeClient, LIST_BUDGET_MS, LIST_LIMIT, listPages, MAX_LIST_PAGES } from './client.js';
import type { PodEvent } from './pods.js';
import { inWindow, minutesBefore } from './time.js';

const EventSchema = z.object({
  involvedObject: z.object({ kind: z.string().nullish(), name: z.string() }),
  reason: z.string().nullish(),
  message: z.string().nullish(),
  type: z.string().nullish(),
  count: z.number().int().nullish(),
  firstTimestamp: z.string().nullish(),
  lastTimestamp: z.string().nullish(),
  eventTime: z.string().nullish(),
  series: z.object({ count: z.number().int().nullish(), lastObservedTime: z.string().nullish() }).nullish(),
  metadata: z.object({ creationTimestamp: z.string().nullish() }),
});

/** The kubelet's reasons that tell why a pod stops serving; matched on reason, never on message text. */
export const POD_EVENT_REASONS = new Set([
  'Killing',
  'Unhealthy',
  'BackOff',
  'OOMKilling',
  'Evicted',
  'Preempting',
]);

const MESSAGE_CHARS = 240;

/**
 * Recent pod events of the reasons above, by pod name. Repeats are folded by
 * the API server into `count` (core/v1) or `series`; newer clusters leave the
 * old timestamps null and fill `eventTime`.
 */
export async function readPodEvents(
  client: KubeClient,
  namespace: string,
  pods: ReadonlySet<string>,
  opts: { onsetAt: number; windowMinutes: number },
): Promise<{ byPod: Map<string, PodEvent[]>; cut: string | null }> {
  // Namespace-wide: a busy namespace holds thousands of events, so the list is read page by page.
  const list = await listPages(
    client,
    `/api/v1/namespaces/${namespace}/events`,
    { fieldSelector: 'involvedObject.kind=Pod' },
    EventSchema,
  );
  const byPod = new Map<string, PodEvent[]>();
  for (const e of list.items) {
    const reason = e.reason ?? '';
    if (!pods.has(e.involvedObject.name) || !POD_EVENT_REASONS.has(reason)) continue;
    const last =
      e.series?.lastObservedTime ??
      e.lastTimestamp ??
      e.eventTime ??
      e.firstTimestamp ??
      e.metadata.creationTimestamp;
    if (!inWindow(minutesBefore(last, opts.onsetAt), opts.windowMinutes)) continue;
    const events = byPod.get(e.involvedObject.name) ?? [];
    events.push({
      reason,
      type: e.type ?? 'Normal',
      count: e.series?.count ?? e.count ?? 1,
      last_at: last ?? null,
      message: (e.message ?? '').slice(0, MESSAGE_CHARS),
    });
    byPod.set(e.involvedObject.name, events);
  }
  const cut = list.cut
    ? `namespace ${namespace} holds more Pod events than gatewatch reads (${MAX_LIST_PAGES} pages of ${LIST_LIMIT} within ${LIST_BUDGET_MS / 1000} s): read the first ${list.items.length}, so some of these pods' events may be missing`
    : null;
  return { byPod, cut };
}
