import type { Logger } from '../log.js';
import type { PlaybookSet } from '../playbooks/load.js';
import type { JobQueue } from '../queue/jobs.js';
import { matchPlaybook } from '../sources/match.js';
import type { Alert } from '../sources/types.js';
import type { IncidentStore } from './store.js';

export type IngestStatus = 'queued' | 'duplicate' | 'updated';

export type IngestAnswer =
  | {
      status: 202;
      body: {
        incident: string;
        status: IngestStatus;
        incidents?: { incident: string; status: IngestStatus }[];
      };
    }
  | { status: 200; body: { ignored: string } };

export interface IngestDeps {
  store: IncidentStore;
  jobs: JobQueue;
  playbooks: PlaybookSet;
  log: Logger;
  now?: () => Date;
  onIgnored?: (source: string, reason: string) => void;
}

async function ingestOne(
  alert: Alert,
  service: string,
  deps: IngestDeps,
): Promise<{ incident: string; status: IngestStatus } | { ignored: string }> {
  const now = deps.now?.() ?? new Date();
  const { store, jobs } = deps;
  switch (alert.event) {
    case 'triggered': {
      const res = await store.openOrJoin({
        source: alert.source,
        key: alert.key,
        service,
        title: alert.title,
        url: alert.url,
        onsetAt: alert.startedAt,
        now,
        preferredId: alert.source === 'pagerduty' ? alert.key : undefined,
      });
      if (res.outcome === 'created') {
        await jobs.diagnose(res.id, 1);
        return { incident: res.id, status: 'queued' };
      }
      // Still waiting for a worker: re-adding the same job id is a no-op, and covers an enqueue lost to an outage.
      if (res.state === 'triggered') {
        const inc = await store.get(res.id);
        if (inc) await jobs.diagnose(inc.id, inc.run);
      }
      await jobs.syncRoot(res.id);
      return { incident: res.id, status: 'duplicate' };
    }
    case 'acknowledged':
    case 'resolved':
    case 'reopened':
    case 'updated': {
      const inc = await store.findByKey(alert.source, alert.key);
      if (!inc) return { ignored: `no incident known for ${alert.source} ${alert.key}` };
      if (alert.event === 'acknowledged' && inc.state !== 'resolved') {
        await store.update(inc.id, { state: 'acknowledged', acknowledgedAt: now.toISOString() });
      } else if (alert.event === 'resolved' && inc.state !== 'resolved') {
        await store.markResolved(inc, now);
      } else if (alert.event === 'reopened' && inc.state === 'resolved') {
        const run = await store.reopen(inc, now);
        await jobs.diagnose(inc.id, run);
        return { incident: inc.id, status: 'queued' };
      }
      await jobs.syncRoot(inc.id);
      return { incident: inc.id, status: 'updated' };
    }
  }
}

/**
 * Turns a webhook's alerts into incidents: match each to a playbook, open or
 * join that service's incident, queue its diagnosis. Redis errors propagate so
 * the HTTP layer can answer 503 and the sender retries.
 */
export async function ingestAlerts(alerts: readonly Alert[], deps: IngestDeps): Promise<IngestAnswer> {
  const results: { incident: string; status: IngestStatus }[] = [];
  const ignored: string[] = [];
  for (const alert of alerts) {
    const match = matchPlaybook(alert, deps.playbooks.values());
    if ('ignored' in match) {
      ignored.push(match.ignored);
      deps.onIgnored?.(alert.source, match.ignored);
      continue;
    }
    const res = await ingestOne(alert, match.playbook.service, deps);
    if ('ignored' in res) {
      ignored.push(res.ignored);
      deps.onIgnored?.(alert.source, res.ignored);
    } else {
      deps.log.info(
        { incident: res.incident, service: match.playbook.service, status: res.status },
        'alert ingested',
      );
      results.push(res);
    }
  }
  const first = results.find((r) => r.status === 'queued') ?? results[0];
  if (!first) return { status: 200, body: { ignored: ignored.join('; ') || 'no alerts in payload' } };
  return {
    status: 202,
    body: {
      incident: first.incident,
      status: first.status,
      ...(results.length > 1 ? { incidents: results } : {}),
    },
  };
}
