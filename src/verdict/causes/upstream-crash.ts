import {
  clamp,
  dominantLog,
  gatewayErrorsNow,
  hostPort,
  logActive,
  logCount,
  logUpstreams,
  resettingTargets,
} from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/**
 * Targets accept the connection and then reset or close it before answering: the
 * app dies mid-request. Intermittent too: a process crash-looping between restarts
 * passes some probes and samples, but the log shows its resets (and refusals while
 * it restarts) since.
 */
export const upstreamCrash: Rule = (ev) => {
  const resetting = resettingTargets(ev);
  const top = dominantLog(ev);
  const crashes = logCount(ev, 'crash');
  const logSays =
    logActive(ev) &&
    (top?.kind === 'crash' || (crashes >= 2 && crashes + logCount(ev, 'connect') >= (top?.count ?? 0)));
  if (resetting.length === 0 && !logSays) return null;
  const where = resetting.length
    ? resetting.map(hostPort)
    : logUpstreams(ev, 'crash')
        .map((u) => u.address)
        .slice(0, 3);
  const list = where.join(', ') || 'the upstream';
  return {
    cause: 'upstream_crash',
    confidence: clamp(
      (resetting.length && logSays ? 0.9 : resetting.length ? 0.8 : 0.7) + (gatewayErrorsNow(ev) ? 0.05 : 0),
    ),
    summary: `The app on ${list} accepts connections, then ${top?.id === 'premature_close' && !resetting.length ? 'closes them' : 'resets them'} before answering: it crashes or is killed mid-request.`,
    actions: [
      `Read the app's log on ${list} for the crash: panics, uncaught exceptions, restarts (\`journalctl -u SERVICE --since -30min\`, \`kubectl logs --previous\`), and OOM kills (\`dmesg | grep -i kill\`).`,
      "If the app is fine but recycles workers or closes idle keep-alive connections early, make its keep-alive timeout longer than the proxy's (nginx upstream `keepalive_timeout`).",
    ],
  };
};

export const upstreamCrashCause = defineCause({
  id: 'upstream_crash',
  recommendation: 'fix',
  label: 'The targets accept connections, then reset or close them before answering.',
  rule: upstreamCrash,
  triggeredBy: ['deploy'],
  colour: '#bcbd22',
});
