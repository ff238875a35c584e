import type { UpstreamEvidence } from '../../checks/upstream/check.js';
import { clamp, gatewayErrorsNow, hostPort, logUpstreams, targets, unreachable } from '../evidence.js';
import type { Evidence, Rule } from '../types.js';
import { defineCause } from './cause.js';

/** A dead instance: a target nothing can connect to, or one address behind an answering target's name. */
interface DeadInstance {
  /** host:port of the instance. */
  at: string;
  /** For an address: the target whose name resolves to it. */
  behind?: UpstreamEvidence;
  outcome: string;
  error: string | null;
  /** The proxy's log names it: it still gets traffic. */
  named: boolean;
}

function deadInstances(ev: Evidence, all: readonly UpstreamEvidence[]): DeadInstance[] {
  const logged = new Set(logUpstreams(ev).map((u) => u.address));
  const out: DeadInstance[] = [];
  for (const t of all) {
    if (unreachable(t)) {
      const mine = [hostPort(t), ...t.addresses.map((a) => hostPort({ host: a, port: t.port }))];
      out.push({
        at: hostPort(t),
        outcome: t.outcome,
        error: t.error,
        named: mine.some((m) => logged.has(m)),
      });
    } else if (t.outcome === 'ok')
      // A name that resolves to several instances can hide a dead one among good ones.
      for (const a of t.by_address ?? []) {
        if (a.outcome !== 'refused' && a.outcome !== 'timeout') continue;
        const at = hostPort({ host: a.address, port: t.port });
        out.push({ at, behind: t, outcome: a.outcome, error: a.error, named: logged.has(at) });
      }
  }
  return out;
}

/** Some instances are dead while the others answer: the proxy keeps sending traffic to the dead ones. */
export const upstreamPartial: Rule = (ev) => {
  const all = targets(ev);
  const alive = all.filter((t) => t.outcome === 'ok');
  const dead = deadInstances(ev, all);
  if (dead.length === 0 || alive.length === 0) return null;
  const now = gatewayErrorsNow(ev);
  const traffic = now === true || dead.some((d) => d.named);
  // With the proxy serving cleanly and not naming them, the dead ones are out of rotation already.
  const confidence = clamp(traffic ? 0.85 : now === false ? 0.6 : 0.7);
  const list = dead.map((d) => (d.behind ? `${d.at}, an address of ${hostPort(d.behind)}` : d.at)).join('; ');
  const onlyTargets = dead.every((d) => !d.behind);
  return {
    cause: 'upstream_partial',
    confidence,
    summary: onlyTargets
      ? `${dead.length} of ${all.length} upstream targets are dead (${list})${traffic ? ' and still receive traffic' : ''}; ${alive.length} answer normally.`
      : `${dead.length} upstream instance${dead.length > 1 ? 's are' : ' is'} dead (${list})${traffic ? ' and still receive traffic' : ''}; the other instances answer normally.`,
    actions: [
      ...dead.map(
        (d) =>
          `Restart or replace the instance on ${d.at} (${d.outcome}: ${d.error ?? 'no answer'})${d.behind ? `, or take ${d.at.replace(/:\d+$/, '')} out of the DNS records of ${d.behind.host}` : ''}.`,
      ),
      `Take ${dead.map((d) => d.at).join(', ')} out of the proxy's upstream pool until ${dead.length > 1 ? 'they are' : 'it is'} healthy (nginx: \`server ${dead[0]!.at} down;\` then reload; or passive health checks with max_fails/fail_timeout).`,
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
