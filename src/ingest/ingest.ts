import type { Logger } from '../log.js';
import type { PlaybookSet } from '../playbooks/load.js';
import { matchPlaybook } from '../sources/match.js';
import type { Alert } from '../sources/types.js';
import type { IncidentStore, OpenOrJoin, TriggerArgs } from '../store/store.js';
import { ANSWER_TTL_S, type Delivery, type DeliveryLog, onceClaimed, PENDING_TTL_MS } from './deliveries.js';

export type IngestStatus = 'queued' | 'duplicate' | 'updated';

export interface IngestResult {
  incident: string;
  status: IngestStatus;
}

export type IngestAnswer =
  | {
      status: 202;
      body: {
        incident: string;
        status: IngestStatus;
        /** Every incident the payload touched, when there are several. */
        incidents?: IngestResult[];
        /** Why some alerts of the payload were ignored, when others were not. */
        ignored?: string[];
      };
    }
  | { status: 200; body: { ignored: string } };

type Accepted = Extract<IngestAnswer, { status: 202 }>;

/** The work ingest hands on (the queue, built in main.ts); every call is idempotent. */
export interface IngestJobs {
  diagnose(incidentId: string, run: number): Promise<unknown>;
  /** One root edit soon, debounced. */
  syncRoot(incidentId: string): Promise<unknown>;
  /** The root edit of the sync window opened at `windowStart` (ms), run when it closes. */
  syncRootWindow(incidentId: string, windowStart: number): Promise<unknown>;
  /** Tell members that joined after the verdict what it is, in one message per window. */
  announceJoiners(incidentId: string): Promise<unknown>;
  /** The sync window, ms: joins within it of one that asked for a root edit ask for none. */
  readonly rootSyncWindowMs: number;
}

export interface IngestDeps {
  store: IncidentStore;
  jobs: IngestJobs;
  playbooks: PlaybookSet;
  log: Logger;
  now?: () => Date;
  onIgnored?: (source: string, reason: string) => void;
  /** A diagnosis was queued for an incident of `service` (a new one, or a new run). */
  onQueued?: (service: string) => void;
  /** Senders' delivery ids, for `ingestDelivery`. */
  deliveries?: DeliveryLog;
  /** A verdict younger than this is told to an upstream incident that joins; older, a fresh diagnosis runs. */
  freshVerdictMs?: number;
}

type Outcome = IngestResult | { ignored: string };

function unknown(alert: Alert): { ignored: string } {
  return { ignored: `no incident known for ${alert.source} alert ${alert.key}` };
}

/**
 * What a delivery's claim already did for this alert (`ingestDelivery`): matched it to `service`
 * and, when an incident was open, joined it at `now`.
 */
type Joined = { alert: Alert; service: string; now: Date; res?: OpenOrJoin };

function triggerArgs(alert: Alert, service: string, now: Date, deps: IngestDeps): TriggerArgs {
  return {
    source: alert.source,
    key: alert.key,
    service,
    title: alert.title,
    url: alert.url,
    onsetAt: alert.startedAt,
    now,
    // PagerDuty's own incident id reads better in Slack than one of ours.
    preferredId: alert.source === 'pagerduty' ? alert.key : undefined,
    // A little over the queue's window, so timer jitter never brings two count edits closer than that.
    syncWindowMs: deps.jobs.rootSyncWindowMs + 250,
    freshVerdictMs: deps.freshVerdictMs,
  };
}

async function trigger(
  alert: Alert,
  service: string,
  now: Date,
  deps: IngestDeps,
  joined?: OpenOrJoin,
): Promise<Outcome> {
  const { store, jobs } = deps;
  const res = joined ?? (await store.openOrJoin(triggerArgs(alert, service, now, deps)));
  if (res.outcome === 'late')
    return res.id
      ? { incident: res.id, status: 'duplicate' }
      : { ignored: `${alert.source} alert ${alert.key} has already ended (a delayed delivery)` };
  if (res.outcome === 'created') {
    await jobs.diagnose(res.id, 1);
    return { incident: res.id, status: 'queued' };
  }
  // Another upstream incident joined: never silent. It hears the fresh verdict, or a new run covers it.
  if (res.newcomer === 'rediagnose') await jobs.diagnose(res.id, res.run);
  if (res.newcomer === 'announce') await jobs.announceJoiners(res.id);
  // A storm of duplicates asks for a root edit once per sync window, gated in the join script.
  if (res.syncDue) {
    // Still waiting for a worker: re-adding the same job id is a no-op, and covers an enqueue lost to an outage.
    if (res.state === 'triggered' && res.newcomer !== 'rediagnose') await jobs.diagnose(res.id, res.run);
    await jobs.syncRootWindow(res.id, now.getTime());
  }
  if (res.newcomer === 'rediagnose') return { incident: res.id, status: 'queued' };
  return { incident: res.id, status: res.newcomer === 'announce' ? 'updated' : 'duplicate' };
}

async function ingestOne(alert: Alert, service: string, deps: IngestDeps, joined?: Joined): Promise<Outcome> {
  if (joined?.alert === alert && joined.res) return trigger(alert, service, joined.now, deps, joined.res);
  const now = deps.now?.() ?? new Date();
  const { store, jobs } = deps;
  const ref = { source: alert.source, key: alert.key, now };
  switch (alert.event) {
    case 'triggered':
      return trigger(alert, service, now, deps);
    case 'resolved': {
      const res = await store.resolveAlert({ ...ref, onsetAt: alert.startedAt });
      if (!res.id) return unknown(alert);
      if (res.outcome === 'already') return { incident: res.id, status: 'duplicate' };
      if (res.outcome === 'resolved') await jobs.syncRoot(res.id);
      return { incident: res.id, status: 'updated' };
    }
    case 'acknowledged': {
      const res = await store.acknowledgeAlert(ref);
      if (!res) return unknown(alert);
      await jobs.syncRoot(res.id);
      return { incident: res.id, status: 'updated' };
    }
    case 'reopened': {
      const res = await store.reopenAlert(ref);
      if (!res) return unknown(alert);
      if (res.outcome === 'open') return { incident: res.id, status: 'duplicate' };
      await jobs.diagnose(res.id, res.run);
      return { incident: res.id, status: 'queued' };
    }
    case 'updated': {
      const inc = await store.findByKey(alert.source, alert.key);
      if (!inc) return unknown(alert);
      await jobs.syncRoot(inc.id);
      return { incident: inc.id, status: 'updated' };
    }
  }
}

const RANK: Record<IngestStatus, number> = { queued: 3, updated: 2, duplicate: 1 };

/** One entry per incident, with the most telling status any of its alerts got. */
function byIncident<R extends IngestResult>(results: readonly R[]): R[] {
  const out = new Map<string, R>();
  for (const r of results) {
    const seen = out.get(r.incident);
    if (!seen || RANK[r.status] > RANK[seen.status]) out.set(r.incident, r);
  }
  return [...out.values()];
}

/**
 * Turns a webhook's alerts into incidents: match each to a playbook, open,
 * join, resolve or reopen that service's incident, queue its diagnosis. Alerts
 * are taken in payload order (a group may hold an alert's firing and its end).
 * Redis errors propagate so the HTTP layer can answer 503 and the sender retries.
 */
async function ingestAll(alerts: readonly Alert[], deps: IngestDeps, joined?: Joined): Promise<IngestAnswer> {
  // The payload's bindings on each line rather than a child logger: one is built per request otherwise.
  const about = { source: alerts[0]?.source, alerts: alerts.length };
  const results: (IngestResult & { service: string })[] = [];
  const ignored: string[] = [];
  const ignore = (alert: Alert, reason: string) => {
    ignored.push(reason);
    deps.onIgnored?.(alert.source, reason);
    deps.log.info({ ...about, key: alert.key, event: alert.event, reason }, 'alert ignored');
  };
  for (const alert of alerts) {
    // The delivery's claim matched its alert already.
    let service = joined?.alert === alert ? joined.service : undefined;
    if (!service) {
      const match = matchPlaybook(alert, deps.playbooks.values());
      if ('ignored' in match) {
        ignore(alert, match.ignored);
        continue;
      }
      service = match.playbook.service;
    }
    const res = await ingestOne(alert, service, deps, joined);
    if ('ignored' in res) ignore(alert, res.ignored);
    else {
      ingested(deps.log, about, { ...res, service }, alert.key);
      results.push({ ...res, service });
    }
  }
  const incidents = byIncident(results);
  for (const r of incidents) if (r.status === 'queued') deps.onQueued?.(r.service);
  const first = incidents.find((r) => r.status === 'queued') ?? incidents[0];
  if (!first) return { status: 200, body: { ignored: ignored.join('; ') || 'no alerts in payload' } };
  return {
    status: 202,
    body: {
      incident: first.incident,
      status: first.status,
      ...(incidents.length > 1
        ? { incidents: incidents.map(({ incident, status }) => ({ incident, status })) }
        : {}),
      ...(ignored.length > 0 ? { ignored } : {}),
    },
  };
}

function ingested(
  log: Logger,
  about: { source?: string; alerts: number },
  res: IngestResult & { service: string },
  key: string,
): void {
  // A storm's repeats change nothing: at info a storm reads as its incident once, not 10,000 lines.
  const level = res.status === 'duplicate' ? 'debug' : 'info';
  // One line per webhook: skip building it when the level is off.
  if (!log.isLevelEnabled(level)) return;
  log[level](
    { ...about, incident: res.incident, service: res.service, key, status: res.status },
    'alert ingested',
  );
}

/**
 * Ingests a webhook's alerts once per sender's delivery id: a retry, even one racing the first, is
 * answered as the first was, with status `duplicate`, and changes nothing. A storm's alert (one
 * `triggered` alert of a service with an open incident) is claimed, joined and answered in one step
 * in Redis; anything else claims the delivery, is ingested, then answered (or released on failure,
 * so the sender's retry is processed afresh).
 */
export async function ingestDelivery(
  alerts: readonly Alert[],
  delivery: Delivery | undefined,
  deps: IngestDeps,
): Promise<IngestAnswer> {
  const { deliveries } = deps;
  if (!delivery || !deliveries) return ingestAll(alerts, deps);
  const { source, id } = delivery;
  const alert = alerts.length === 1 ? alerts[0] : undefined;
  const match = alert?.event === 'triggered' ? matchPlaybook(alert, deps.playbooks.values()) : undefined;
  const service = match && 'playbook' in match ? match.playbook.service : undefined;
  type Got = { done: IngestAnswer } | { joined?: Joined };
  const claimed = await onceClaimed<Got>(delivery.waitMs, async () => {
    if (!alert || !service) {
      const held = await deliveries.claim(source, id);
      return held === null ? { got: {} } : { held };
    }
    const now = deps.now?.() ?? new Date();
    const res = await deps.store.joinDelivered(triggerArgs(alert, service, now, deps), {
      key: deliveries.keyOf(source, id),
      pendingMs: PENDING_TTL_MS,
      answerTtlS: ANSWER_TTL_S,
    });
    if (res.claim === 'held') return { held: res.held };
    if (res.claim === 'claimed')
      return { got: { joined: { alert, service, now, res: res.join ?? undefined } } };
    // Answered in Redis already: what ingestAll would have logged and answered.
    const body = { incident: res.join.id, status: 'duplicate' as const };
    ingested(deps.log, { source: alert.source, alerts: 1 }, { ...body, service }, alert.key);
    return { got: { done: { status: 202, body } } };
  });
  if ('answer' in claimed)
    return { status: 202, body: { ...(claimed.answer as Accepted['body']), status: 'duplicate' } };
  if ('done' in claimed.got) return claimed.got.done;
  try {
    const answer = await ingestAll(alerts, deps, claimed.got.joined);
    // Only an accepted delivery is remembered; an ignored one is as cheap to ignore again.
    if (answer.status === 202) await deliveries.answer(source, id, answer.body);
    else await deliveries.release(source, id);
    return answer;
  } catch (err) {
    await deliveries.release(source, id).catch(() => {});
    throw err;
  }
}
