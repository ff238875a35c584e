import { clamp, deadTargets, gatewayErrorsNow, hostPort, logCount, targets } from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/** Every target refuses or cannot be connected to: nothing behind the proxy is running. */
export const upstreamDown: Rule = (ev) => {
  const all = targets(ev);
  const dead = deadTargets(ev);
  if (all.length === 0 || dead.length !== all.length) return null;
  const refused = dead.filter((t) => t.outcome === 'refused');
  const allRefuse = refused.length === dead.length;
  const agree = gatewayErrorsNow(ev) === true || logCount(ev, 'connect') > 0;
  const list = dead.map(hostPort).join(', ');
  return {
    cause: 'upstream_down',
    confidence: clamp((allRefuse ? 0.8 : 0.65) + (agree ? 0.1 : 0)),
    summary: `Every upstream target (${list}) ${allRefuse ? 'refuses connections' : 'is unreachable'}: the service behind the proxy is down.`,
    actions: [
      ...dead.map(
        (t) =>
          `Start the service on ${hostPort(t)} (nothing ${t.outcome === 'refused' ? 'listens' : 'answers'} there) and check why it stopped: its logs, OOM kills (\`dmesg | grep -i kill\`), the last deploy.`,
      ),
      'Confirm recovery: the targets answer their health check and the proxy stops returning 502.',
    ],
  };
};

export const upstreamDownCause = defineCause({
  id: 'upstream_down',
  recommendation: 'fix',
  label: 'Every upstream target refuses connections or is unreachable.',
  rule: upstreamDown,
  triggeredBy: ['deploy', 'config'],
  colour: '#d62728',
});
