import { createHash } from 'node:crypto';
import { z } from 'zod';
import { GatewatchError } from '../errors.js';
import type { Alert, ParseResult } from './types.js';

/**
 * The notification shape Prometheus Alertmanager (version "4") and Grafana
 * unified alerting (version "1") share: a group of alerts, firing and resolved
 * mixed. Unknown fields are ignored and optional ones may be missing, as the
 * senders add fields over versions.
 */
const GroupAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()).default({}),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string().optional(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

export const AlertGroup = z.object({
  version: z.string().optional(),
  status: z.string().optional(),
  groupKey: z.string().optional(),
  alerts: z.array(GroupAlert),
});

export type AlertGroup = z.infer<typeof AlertGroup>;
type GroupAlert = z.infer<typeof GroupAlert>;

/** Alertmanager's own fingerprint is a hash of the label set; old senders omit it, so derive one alike. */
function fingerprintOf(a: GroupAlert): string {
  if (a.fingerprint) return a.fingerprint;
  const sorted = Object.keys(a.labels)
    .sort()
    .map((k) => `${k}=${a.labels[k]}`)
    .join('\u0000');
  return createHash('sha256').update(sorted).digest('hex').slice(0, 16);
}

/** `0001-01-01T00:00:00Z` is Go's zero time: "unknown". */
function knownTime(s: string | undefined): string | undefined {
  if (!s || s.startsWith('0001-')) return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** One alert per entry, keyed by fingerprint; each alert's own status counts, not the group's. */
export function parseAlertGroup(source: string, body: unknown, nowMs: number, what: string): ParseResult {
  const parsed = AlertGroup.safeParse(body);
  if (!parsed.success)
    throw new GatewatchError('BAD_REQUEST', `not ${what} payload: ${z.prettifyError(parsed.error)}`);
  if (parsed.data.alerts.length === 0) return { ignored: 'the notification holds no alerts' };
  const alerts: Alert[] = parsed.data.alerts.map((a) => ({
    source,
    key: fingerprintOf(a),
    event: a.status === 'firing' ? 'triggered' : 'resolved',
    title: a.annotations.summary || a.labels.alertname || 'unnamed alert',
    serviceIds: [],
    labels: a.labels,
    url: a.generatorURL || undefined,
    startedAt: knownTime(a.startsAt) ?? new Date(nowMs).toISOString(),
  }));
  return { alerts };
}
