import type { Cluster, Redis } from 'ioredis';
import { type RunChecksOptions, runChecks } from '../checks/runner.js';
import type { ChangeEventReader, CheckResult } from '../checks/types.js';
import type { Logger } from '../log.js';
import type { PlaybookSet } from '../playbooks/load.js';
import type { IncidentStore } from '../store/store.js';
import { decide } from '../verdict/engine.js';
import type { Verdict } from '../verdict/types.js';
import type { IncidentNotifier } from './notify.js';
import { relatedIncidents } from './related.js';

export interface DiagnoseDeps {
  store: IncidentStore;
  playbooks: PlaybookSet;
  notifier: IncidentNotifier;
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
  redis?: Redis | Cluster;
  keyPrefix?: string;
  changeEvents?: ChangeEventReader;
  onVerdict?: (verdict: Verdict) => void;
  /** The checks to run by name; the real registry unless a caller brings its own. */
  checkRegistry?: RunChecksOptions['registry'];
}

/**
 * One diagnosis run of an incident: post the root message, run the playbook's
 * checks (showing each as it finishes), decide, tell the verdict. The state
 * moves only through the store's atomic steps, so a resolve or acknowledge
 * racing the run stands. Safe to run again after a crash: the notifier skips
 * every post and note that is already done.
 */
export async function diagnoseIncident(
  data: { incidentId: string; run: number },
  deps: DiagnoseDeps,
  signal?: AbortSignal,
): Promise<Verdict | null> {
  const log = deps.log.child({ incident: data.incidentId, run: data.run });
  const { store, notifier } = deps;
  const known = await store.get(data.incidentId);
  if (!known) {
    log.warn('incident not found; dropping job');
    return null;
  }
  const playbook = deps.playbooks.get(known.service);
  if (!playbook) {
    log.error({ service: known.service }, 'no playbook for this service any more');
    return null;
  }
  if (known.run === data.run && known.verdict && known.verdictTs?.startsWith(`${known.run}:`)) {
    // A retry after the verdict was posted: finish what may be left (notes, the root's last edit).
    await notifier.verdict(known, known.verdict, await store.members(known.id));
    return known.verdict;
  }
  const began = await store.beginDiagnosis(data.incidentId, data.run);
  if (began !== 'ok') {
    log.info({ current: known.run }, 'a newer diagnosis run superseded this one');
    return null;
  }
  const inc = (await store.get(data.incidentId)) ?? known;
  const startedAt = Date.now();
  const progress = await notifier.opened(inc, playbook.slack.channel);

  const planned = Object.entries(playbook.checks)
    .filter(([, cfg]) => cfg !== undefined)
    .map(([name]) => name);
  const done: CheckResult[] = [];
  const started = performance.now();
  let results: CheckResult[];
  try {
    results = await runChecks(playbook, {
      log,
      signal,
      env: deps.env,
      now: Date.now,
      onsetAt: Date.parse(inc.onsetAt) || startedAt,
      redis: deps.redis,
      keyPrefix: deps.keyPrefix,
      changeEvents: deps.changeEvents,
      registry: deps.checkRegistry,
      onResult: (r) => {
        done.push(r);
        progress.update({ planned, done: [...done] });
      },
    });
  } finally {
    await progress.flush();
  }
  const verdict = decide({
    service: inc.service,
    incident: inc.externalId && inc.source !== 'slack' ? inc.externalId : inc.id,
    results,
    durationMs: performance.now() - started,
    onsetAt: Date.parse(inc.onsetAt) || startedAt,
  });

  const finished = await store.finishDiagnosis(inc.id, data.run, verdict);
  if (finished.outcome !== 'done') {
    log.info(
      { outcome: finished.outcome },
      'a newer diagnosis run superseded this one; its verdict is not posted',
    );
    return null;
  }
  const fresh = (await store.get(inc.id)) ?? { ...inc, verdict };
  await notifier.verdict(fresh, verdict, finished.members, await relatedIncidents(store, fresh));
  deps.onVerdict?.(verdict);
  log.info({ cause: verdict.cause, recommendation: verdict.recommendation }, 'diagnosis done');
  return verdict;
}
