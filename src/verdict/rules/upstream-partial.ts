import { deadTargets, hostPort } from '../evidence.js';
import type { Rule } from '../types.js';

/** Some targets are dead while the others answer: the proxy keeps sending traffic to the dead ones. */
export const upstreamPartial: Rule = (ev) => {
  const targets = ev.upstream?.evidence ?? [];
  const dead = deadTargets(ev);
  const alive = targets.filter((t) => t.status === 'ok');
  if (dead.length === 0 || alive.length === 0) return null;
  return {
    cause: 'upstream_partial',
    confidence: 0.85,
    summary: `${dead.length} of ${targets.length} upstream targets are dead (${dead.map(hostPort).join(', ')}) and still receive traffic; ${alive.length} answer normally.`,
    actions: [
      ...dead.map(
        (t) => `Restart or replace the instance on ${hostPort(t)} (${t.outcome}: ${t.error ?? 'no answer'}).`,
      ),
      `Take ${dead.map(hostPort).join(', ')} out of the proxy's upstream pool until it is healthy (or enable passive health checks: max_fails/fail_timeout).`,
    ],
  };
};
