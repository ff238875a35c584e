import { clamp, logCount, troubleSeen } from '../evidence.js';
import {
  kubeEndpoints,
  kubePods,
  kubeRollout,
  loggedEndpoints,
  ofCurrentRevision,
  rolloutActive,
  rolloutChanges,
  rolloutName,
} from '../kubernetes.js';
import type { Rule } from '../types.js';

/**
 * 502s while a rollout replaces pods and some endpoints are terminating, with
 * other endpoints ready: the proxy still sends to pods being stopped (no
 * preStop delay, a grace period shorter than the drain, an app that exits on
 * SIGTERM with requests in flight). The rollout is the trigger.
 */
export const k8sDeployDrain: Rule = (ev) => {
  const eps = kubeEndpoints(ev);
  const rollout = kubeRollout(ev);
  if (!eps || !rollout || eps.terminating === 0 || eps.ready === 0) return null;
  const recent = rolloutChanges(ev).length > 0;
  if (!recent && !rolloutActive(rollout)) return null;
  const seen = troubleSeen(ev);
  if (seen === false) return null;
  // New pods that crash or restart explain 502s by themselves: not a drain, left to the other rules.
  const newCrashing = kubePods(ev).some(
    (p) =>
      ofCurrentRevision(ev, p) &&
      p.containers.some((c) => c.last_terminated?.recent || c.reason === 'CrashLoopBackOff'),
  );
  if (newCrashing) return null;
  const cut = logCount(ev, 'crash') + logCount(ev, 'connect') > 0;
  const terminating = eps.endpoints.filter((e) => e.terminating);
  const draining = terminating.map((e) => e.pod ?? e.address);
  // The proxy's log names the upstreams it failed on: pod IPs that are terminating endpoints clinch it.
  const hitDraining = loggedEndpoints(ev, terminating);
  return {
    cause: 'deploy_drain',
    confidence: clamp((seen === true ? 0.8 : 0.55) + (cut ? 0.05 : 0) + (hitDraining.length ? 0.05 : 0)),
    summary: `The 502s come during the rollout of ${rolloutName(rollout)} (${rollout.updated} of ${rollout.desired} updated) while ${eps.terminating} endpoint${eps.terminating === 1 ? ' is' : 's are'} terminating (${draining.slice(0, 3).join(', ')})${hitDraining.length ? `; the proxy's errors name ${hitDraining.map((h) => h.address).join(', ')}, a terminating pod` : ''}: the proxy still sends to pods being stopped.`,
    actions: [
      'Add a preStop delay so a stopping pod keeps serving until the proxies have dropped its endpoint: `lifecycle: {preStop: {sleep: {seconds: 10}}}` (1.30+) or `exec: {command: ["sleep", "10"]}`.',
      'Keep terminationGracePeriodSeconds above the preStop delay plus the longest request, and make the app finish in-flight requests on SIGTERM before exiting.',
      'Roll out with maxUnavailable: 0 and a readiness probe, so old pods stop only once new ones serve.',
    ],
  };
};
