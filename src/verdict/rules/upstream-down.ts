import { deadTargets, hostPort } from '../evidence.js';
import type { Rule } from '../types.js';

const UNREACHABLE = new Set(['refused', 'timeout', 'error']);

/** Every target refuses or cannot be reached: nothing behind the proxy is running. */
export const upstreamDown: Rule = (ev) => {
  const targets = ev.upstream?.evidence ?? [];
  if (targets.length === 0) return null;
  const dead = deadTargets(ev);
  if (
    dead.length !== targets.length ||
    !dead.every((t) => t.outcome === 'refused' || UNREACHABLE.has(t.outcome))
  )
    return null;
  const refused = dead.filter((t) => t.outcome === 'refused');
  const list = dead.map(hostPort).join(', ');
  return {
    cause: 'upstream_down',
    confidence: refused.length === dead.length ? 0.9 : 0.7,
    summary: `Every upstream target (${list}) ${refused.length === dead.length ? 'refuses connections' : 'is unreachable'}: the service behind the proxy is down.`,
    actions: [
      ...dead.map(
        (t) =>
          `Start the service on ${hostPort(t)} (nothing ${t.outcome === 'refused' ? 'listens' : 'answers'} there) and check why it stopped: its logs, OOM kills (dmesg), the last deploy.`,
      ),
      'Confirm recovery: the targets answer their health check and the proxy stops returning 502.',
    ],
  };
};
