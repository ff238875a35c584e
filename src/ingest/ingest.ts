import type { Logger } from '../log.js';
import type { PlaybookSet } from '../playbooks/load.js';
import { matchPlaybook } from '../sources/match.js';
import type { Alert } from '../sources/types.js';
import type { IncidentStore } from '../store/store.js';

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
  /** A verdict younger than this is told to an upstream incident that joins; older, a fresh diagnosis runs. */
  freshVerdictMs?: number;
}

type Outcome = IngestResult | { ignored: string };

function unknown(alert: Alert): { ignored: string } {
  return { ignored: `no incident known for ${alert.source} alert ${alert.key}` };
}

async function trigger(alert: Alert, service: string, now: Date, deps: IngestDeps): Promise<Outcome> {
  const { store, jobs } = deps;
  const res = await store.openOrJoin({
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
    syncWindowMs: jobs.rootSyncWindowMs + 250,
    freshVerdictMs: deps.freshVerdictMs,
  });
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

async function ingestOne(alert: Alert, service: string, deps: IngestDeps): Promise<Outcome> {
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
function byIncident(results: readonly IngestResult[]): IngestResult[] {
  const out = new Map<string, IngestResult>();
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
export async function ingestAlerts(alerts: readonly Alert[], deps: IngestDeps): Promise<IngestAnswer> {
  const log = deps.log.child({ source: alerts[0]?.source, alerts: alerts.length });
  const results: IngestResult[] = [];
  const ignored: string[] = [];
  const ignore = (alert: Alert, reason: string) => {
    ignored.push(reason);
    deps.onIgnored?.(alert.source, reason);
    log.info({ key: alert.key, event: alert.event, reason }, 'alert ignored');
  };
  for (const alert of alerts) {
    const match = matchPlaybook(alert, deps.playbooks.values());
    if ('ignored' in match) {
      ignore(alert, match.ignored);
      continue;
    }
    const res = await ingestOne(alert, match.playbook.service, deps);
    if ('ignored' in res) ignore(alert, res.ignored);
    else {
      log.info(
        { incident: res.incident, service: match.playbook.service, key: alert.key, status: res.status },
        'alert ingested',
      );
      results.push(res);
    }
  }
  const incidents = byIncident(results);
  const first = incidents.find((r) => r.status === 'queued') ?? incidents[0];
  if (!first) return { status: 200, body: { ignored: ignored.join('; ') || 'no alerts in payload' } };
  return {
    status: 202,
    body: {
      incident: first.incident,
      status: first.status,
      ...(incidents.length > 1 ? { incidents } : {}),
      ...(ignored.length > 0 ? { ignored } : {}),
    },
  };
}
