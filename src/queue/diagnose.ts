import type { Cluster, Redis } from 'ioredis';
import { type RunChecksOptions, runChecks } from '../checks/runner.js';
import type { ChangeEventReader, CheckResult } from '../checks/types.js';
import { errorMessage, isGatewatchError } from '../errors.js';
import type { Incident } from '../ingest/incident.js';
import type { IncidentStore } from '../ingest/store.js';
import type { Logger } from '../log.js';
import type { PagerDutyClient } from '../pagerduty/client.js';
import type { PlaybookSet } from '../playbooks/load.js';
import { Coalescer } from '../slack/coalesce.js';
import { verdictText } from '../slack/format.js';
import type { SlackThread } from '../slack/thread.js';
import { decide } from '../verdict/engine.js';
import type { Verdict } from '../verdict/types.js';

export interface DiagnoseDeps {
  store: IncidentStore;
  playbooks: PlaybookSet;
  slack: SlackThread | null;
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
  redis?: Redis | Cluster;
  keyPrefix?: string;
  changeEvents?: ChangeEventReader;
  onVerdict?: (verdict: Verdict) => void;
  /** When set, each verdict of a PagerDuty incident is also added to it as a note. */
  pagerduty?: PagerDutyClient | null;
  /** Live edits of the root message are at most this often (Slack: ~1 message/s per channel). */
  rootEditIntervalMs?: number;
  /** The checks to run by name; the real registry unless a caller brings its own. */
  checkRegistry?: RunChecksOptions['registry'];
}

const NOTE_CLAIM_TTL_S = 7 * 24 * 3600;

/**
 * Adds the verdict to the PagerDuty incident as a note, once per run: a claim
 * in Redis marks it done, and is released when the call fails so a retry of the
 * job tries again. A refusal that retrying cannot cure (bad token) is logged, not retried.
 */
async function noteOnPagerDuty(inc: Incident, verdict: Verdict, deps: DiagnoseDeps, log: Logger) {
  if (!deps.pagerduty || inc.source !== 'pagerduty') return;
  const claim = `${deps.store.prefix}:pd-note:${inc.id}:${inc.run}`;
  if ((await deps.store.redis.set(claim, '1', 'EX', NOTE_CLAIM_TTL_S, 'NX')) !== 'OK') return;
  try {
    await deps.pagerduty.addNote(
      inc.externalId,
      `gatewatch verdict (run ${inc.run})\n${verdictText(verdict)}`,
    );
    log.info({ pagerduty: inc.externalId }, 'verdict added to the PagerDuty incident as a note');
  } catch (err) {
    await deps.store.redis.del(claim);
    if (isGatewatchError(err) && !err.retryable) {
      log.error({ err: errorMessage(err) }, 'PagerDuty refused the verdict note');
      return;
    }
    throw err;
  }
}

/**
 * One diagnosis run of an incident: post the root message, run the playbook's
 * checks (editing the root as each finishes), decide, post the verdict. Safe to
 * run again after a crash: every Slack post is skipped when its ts is already stored.
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
  if (inc.verdict && inc.verdictTs?.startsWith(`${inc.run}:`)) {
    await noteOnPagerDuty(inc, inc.verdict, deps, log);
    return inc.verdict;
  }

  const startedAt = new Date();
  // A re-run of a diagnosed incident goes back to diagnosing; acknowledged and resolved stay as they are.
  if (inc.state === 'triggered' || inc.state === 'diagnosed') {
    inc.state = 'diagnosing';
    inc.diagnosingAt = startedAt.toISOString();
    await deps.store.update(inc.id, { state: 'diagnosing', diagnosingAt: inc.diagnosingAt });
  }
  await deps.slack?.ensureRoot(inc, playbook.slack.channel);

  const planned = Object.entries(playbook.checks)
    .filter(([, cfg]) => cfg !== undefined)
    .map(([name]) => name);
  const done: CheckResult[] = [];
  const slack = deps.slack;
  const liveEdits = slack
    ? new Coalescer(
        () => slack.updateRoot(inc, { planned, done: [...done] }),
        deps.rootEditIntervalMs ?? 1000,
        (err) => log.warn({ err: errorMessage(err) }, 'live edit of the root message failed'),
      )
    : null;

  const started = performance.now();
  let results: CheckResult[];
  try {
    results = await runChecks(playbook, {
      log,
      signal,
      env: deps.env,
      now: Date.now,
      onsetAt: Date.parse(inc.onsetAt) || startedAt.getTime(),
      redis: deps.redis,
      keyPrefix: deps.keyPrefix,
      changeEvents: deps.changeEvents,
      registry: deps.checkRegistry,
      onResult: (r) => {
        done.push(r);
        liveEdits?.poke();
      },
    });
  } finally {
    await liveEdits?.flush();
  }
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
  if (slack) {
    await slack.postVerdict(fresh, verdict);
    // The final edit, after every live one has landed: the root shows the verdict.
    await slack.updateRoot(fresh);
  }
  await noteOnPagerDuty(fresh, verdict, deps, log);
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
