import type { Redis } from 'ioredis';
import { runChecks } from '../checks/runner.js';
import type { ChangeEventReader } from '../checks/types.js';
import type { IncidentStore } from '../ingest/store.js';
import type { Logger } from '../log.js';
import type { PlaybookSet } from '../playbooks/load.js';
import type { SlackThread } from '../slack/thread.js';
import { decide } from '../verdict/engine.js';
import type { Verdict } from '../verdict/types.js';

export interface DiagnoseDeps {
  store: IncidentStore;
  playbooks: PlaybookSet;
  slack: SlackThread | null;
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
  redis?: Redis;
  keyPrefix?: string;
  changeEvents?: ChangeEventReader;
  onVerdict?: (verdict: Verdict) => void;
}

/**
 * One diagnosis run of an incident: post the root message, run the playbook's
 * checks, decide, post the verdict. Safe to run again after a crash: every
 * Slack post is skipped when its ts is already stored.
 */
export async function diagnoseIncident(
  data: { incidentId: string; run: number },
  deps: DiagnoseDeps,
  signal?: AbortSignal,
): Promise<Verdict | null> {
  const log = deps.log.child({ incident: data.incidentId, run: data.run });
  const inc = await deps.store.get(data.incidentId);
  if (!inc) {
    log.warn('incident not found; dropping job');
    return null;
  }
  if (inc.run !== data.run) {
    log.info({ current: inc.run }, 'a newer diagnosis run superseded this one');
    return null;
  }
  const playbook = deps.playbooks.get(inc.service);
  if (!playbook) {
    log.error({ service: inc.service }, 'no playbook for this service any more');
    return null;
  }
  if (inc.verdict && inc.verdictTs?.startsWith(`${inc.run}:`)) return inc.verdict;

  const startedAt = new Date();
  if (inc.state === 'triggered') {
    inc.state = 'diagnosing';
    inc.diagnosingAt = startedAt.toISOString();
    await deps.store.update(inc.id, { state: 'diagnosing', diagnosingAt: inc.diagnosingAt });
  }
  await deps.slack?.ensureRoot(inc, playbook.slack.channel);

  const started = performance.now();
  const results = await runChecks(playbook, {
    log,
    signal,
    env: deps.env,
    now: Date.now,
    onsetAt: Date.parse(inc.onsetAt) || startedAt.getTime(),
    redis: deps.redis,
    keyPrefix: deps.keyPrefix,
    changeEvents: deps.changeEvents,
  });
  const verdict = decide({
    service: inc.service,
    incident: inc.externalId && inc.source !== 'slack' ? inc.externalId : inc.id,
    results,
    durationMs: performance.now() - started,
    onsetAt: Date.parse(inc.onsetAt) || startedAt.getTime(),
  });

  const fresh = (await deps.store.get(inc.id)) ?? inc;
  const state = fresh.state === 'diagnosing' ? 'diagnosed' : fresh.state;
  await deps.store.update(inc.id, { verdict, verdictAt: new Date().toISOString(), state });
  Object.assign(fresh, { verdict, state });
  if (deps.slack) {
    await deps.slack.postVerdict(fresh, verdict);
    await deps.slack.updateRoot(fresh);
  }
  deps.onVerdict?.(verdict);
  log.info({ cause: verdict.cause, recommendation: verdict.recommendation }, 'diagnosis done');
  return verdict;
}

/** Edits the root message to show the incident as it is now (alert count, state, resolution). */
export async function syncRootMessage(
  data: { incidentId: string },
  deps: Pick<DiagnoseDeps, 'store' | 'slack'>,
): Promise<void> {
  const inc = await deps.store.get(data.incidentId);
  if (!inc || !deps.slack) return;
  await deps.slack.updateRoot(inc);
}
