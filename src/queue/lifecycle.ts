import type { Logger } from '../log.js';
import type { EndRules, IncidentStore } from '../store/store.js';
import type { IncidentNotifier } from './notify.js';

export interface LifecycleDeps {
  store: IncidentStore;
  notifier: IncidentNotifier;
  log: Logger;
  /** How incidents end by themselves (INCIDENT_QUIET_MS, INCIDENT_MAX_AGE_MS). */
  endRules: EndRules;
}

/** A duration as people say it: "45 s", "30 min", "24 h". */
export function durationText(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}

/** Edits the root message to show the incident as it is now (alert count, state, how it ended). */
export async function syncRootMessage(data: { incidentId: string }, deps: LifecycleDeps): Promise<void> {
  const inc = await deps.store.get(data.incidentId);
  if (inc) await deps.notifier.sync(inc);
}

/** Tells the members that joined after the verdict what it is: one reply for all of them. */
export async function announceJoiners(data: { incidentId: string }, deps: LifecycleDeps): Promise<number> {
  const inc = await deps.store.get(data.incidentId);
  // No verdict yet: the run in progress covers them (its verdict names every member).
  if (!inc?.verdict) return 0;
  let told = 0;
  // A storm of joiners is told in messages of up to MEMBER_CAP each.
  for (;;) {
    const members = await deps.store.pendingMembers(inc.id);
    if (members.length === 0) break;
    await deps.notifier.joined(inc, inc.verdict, members);
    await deps.store.membersTold(inc.id, members);
    told += members.length;
  }
  if (told > 0)
    deps.log.info({ incident: inc.id, members: told }, 'joined incidents told the current verdict');
  return told;
}

/**
 * Ends what nobody will end: incidents open longer than the maximum age, and
 * those whose latest verdict is `recovered` with no alert for the quiet period.
 * Each check-and-end is one atomic step, so an alert arriving at that moment
 * either keeps the incident open or opens a new one.
 */
export async function sweepIncidents(deps: LifecycleDeps, now = new Date()): Promise<string[]> {
  const ended: string[] = [];
  const { quietMs, maxAgeMs } = deps.endRules;
  for (const id of await deps.store.liveIds()) {
    let outcome = await deps.store.end(id, 'max-age', {
      note: `ended: open longer than ${durationText(maxAgeMs)}, the maximum age (INCIDENT_MAX_AGE_MS)`,
      rules: deps.endRules,
      now,
    });
    if (outcome === 'open')
      outcome = await deps.store.end(id, 'quiet', {
        note: `ended: recovered, and no alert for ${durationText(quietMs)}`,
        rules: deps.endRules,
        now,
      });
    if (outcome !== 'resolved') continue;
    ended.push(id);
    const inc = await deps.store.get(id);
    deps.log.info({ incident: id, reason: inc?.endReason }, 'incident ended');
    if (inc) await deps.notifier.sync(inc);
  }
  return ended;
}
