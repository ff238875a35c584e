import { silentLogger } from '../../src/log.js';
import { createNotifier, type NotifierDeps } from '../../src/notify/notifier.js';
import type { IncidentStore } from '../../src/store/store.js';
import type { Verdict } from '../../src/verdict/types.js';

/** A verdict as a run stores it, for tests of what happens around it (not of how it is reached). */
export const SAMPLE_VERDICT = {
  service: 'shop',
  incident: 'x',
  recommendation: 'fix',
  cause: 'upstream_down',
  confidence: 0.9,
  summary: 'every upstream target refuses',
  actions: [],
  trigger: null,
  capacity: null,
  checks: [],
  duration_ms: 1,
} as unknown as Verdict;

/** Rules that never end an incident by themselves within a test, unless it asks for others. */
export const NEVER_ENDS = { quietMs: 3_600_000, maxAgeMs: 86_400_000 };

/** What every worker needs beside its checks: the store, a notifier (Slack/PagerDuty when given), the end rules. */
export function lifecycle(store: IncidentStore, notify: Partial<Omit<NotifierDeps, 'store'>> = {}) {
  const log = notify.log ?? silentLogger();
  return {
    store,
    log,
    notifier: createNotifier({ store, slack: null, pagerduty: null, ...notify, log }),
    endRules: NEVER_ENDS,
  };
}
