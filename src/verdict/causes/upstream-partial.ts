import type { UpstreamEvidence } from '../../checks/upstream/check.js';
import { clamp, deadTargets, gatewayErrorsNow, hostPort, logUpstreams, targets } from '../evidence.js';
import type { Evidence, Rule } from '../types.js';
import { defineCause } from './cause.js';

/** Does the proxy's log name this dead target? Then it still gets traffic. */
function namedInLog(ev: Evidence, t: UpstreamEvidence): boolean {
  const mine = new Set([hostPort(t), ...t.addresses.map((a) => hostPort({ host: a, port: t.port }))]);
  return logUpstreams(ev).some((u) => mine.has(u.address));
}

/** Some targets are dead while the others answer: the proxy keeps sending traffic to the dead ones. */
export const upstreamPartial: Rule = (ev) => {
  const all = targets(ev);
  const dead = deadTargets(ev);
  const alive = all.filter((t) => t.status === 'ok');
  if (dead.length === 0 || alive.length === 0) return null;
  const now = gatewayErrorsNow(ev);
  const traffic = now === true || dead.some((t) => namedInLog(ev, t));
  // With the proxy serving cleanly and not naming them, the dead ones are out of rotation already.
  const confidence = clamp(traffic ? 0.85 : now === false ? 0.6 : 0.7);
  const list = dead.map(hostPort).join(', ');
  return {
    cause: 'upstream_partial',
    confidence,
    summary: `${dead.length} of ${all.length} upstream targets are dead (${list})${traffic ? ' and still receive traffic' : ''}; ${alive.length} answer normally.`,
    actions: [
      ...dead.map(
        (t) => `Restart or replace the instance on ${hostPort(t)} (${t.outcome}: ${t.error ?? 'no answer'}).`,
      ),
      `Take ${list} out of the proxy's upstream pool until ${dead.length > 1 ? 'they are' : 'it is'} healthy (nginx: \`server ${dead[0] ? hostPort(dead[0]) : 'HOST:PORT'} down;\` then reload; or passive health checks with max_fails/fail_timeout).`,
    ],
  };
};

export const upstreamPartialCause = defineCause({
  id: 'upstream_partial',
  recommendation: 'fix',
  label: 'Some upstream targets are dead and still receive traffic.',
  rule: upstreamPartial,
  triggeredBy: ['deploy'],
  colour: '#ff7f0e',
});
