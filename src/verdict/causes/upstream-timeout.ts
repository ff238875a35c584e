import {
  cap,
  clamp,
  database,
  databases,
  dbLabel,
  dependencies,
  dominantLog,
  gatewayErrorsNow,
  hostPort,
  hungInstances,
  loadRows,
  logActive,
  percent,
  statusCount,
  timingOutTargets,
} from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/** Share of the CPU threshold above which a reading no longer shows an idle, waiting app. */
const GREY_ZONE_FROM = 0.5;

/**
 * Targets are reached but answer too late, while their CPU is not saturated:
 * the app waits on something (a dependency, a lock, a pool) rather than working.
 */
export const upstreamTimeout: Rule = (ev) => {
  const slow = timingOutTargets(ev);
  const top = dominantLog(ev);
  const now = gatewayErrorsNow(ev);
  const logSays = top?.kind === 'timeout' && (now !== false || logActive(ev));
  const gateway504 = statusCount(ev, 504) > 0;
  if (slow.length === 0 && !logSays && !gateway504) return null;
  const rows = loadRows(ev).filter((r) => r.cpu !== null);
  if (rows.some((r) => r.over.length > 0)) return null;
  const peak = rows.length ? Math.max(...rows.map((r) => r.cpu ?? 0)) : null;
  const busiest = rows.find((r) => r.cpu === peak);
  // "It waits" needs a CPU that is clearly idle. Between that and the threshold the
  // reading proves neither: a host shared with other work gives a busy process
  // less than a core, so say the conflict instead of guessing.
  if (busiest && peak !== null && peak > busiest.thresholds.cpu * GREY_ZONE_FROM)
    return {
      cause: 'unknown',
      confidence: 0.3,
      summary: `${slow.length ? slow.map(hostPort).join(', ') : 'The upstream'} answer${slow.length === 1 ? 's' : ''} too slowly while ${busiest.instance} uses ${percent(peak)} CPU: neither idle (an app waiting on something) nor over its ${percent(busiest.thresholds.cpu)} threshold (saturated). The evidence conflicts.`,
      actions: [
        `Look at ${busiest.instance}'s host: other processes or a CPU quota (cgroup throttling, steal time) may starve it; \`top\` and the host's CPU dashboards tell.`,
        'Look at its slowest requests and their downstream calls.',
        'Re-run the checks while the 502s are happening.',
      ],
    };
  // An instance that does not even answer its own metrics within the proxy's timeout is not
  // shown idle: busy (a Node event loop blocked by work, behind its queue) or hung. Say so.
  const hung = hungInstances(ev);
  if (hung.length > 0)
    return {
      cause: 'unknown',
      confidence: 0.35,
      summary: `${slow.length ? slow.map(hostPort).join(', ') : 'The upstream'} answer${slow.length === 1 ? 's' : ''} too slowly, and ${hung.map((r) => r.instance).join(', ')} did not answer ${hung.length === 1 ? 'its' : 'their'} own metrics within ${hung[0]!.unanswered_ms} ms either: busy (saturated) or hung, and nothing here tells which.`,
      actions: [
        `Look at ${hung.map((r) => r.instance).join(', ')} now: a process at 100% CPU (\`top\`, \`pidstat 1\`) is saturated — scale out; one idle but stuck (a deadlock, a stop-the-world GC, a blocked event loop) needs a thread dump (\`SIGQUIT\` for a JVM, \`py-spy dump\`, Node's --inspect).`,
        'Re-run the checks with a longer load `timeout_ms` if the metrics endpoint is merely slow.',
      ],
    };
  const signals = [slow.length > 0, logSays, gateway504].filter(Boolean).length;
  // A load check that could not read busy instances hints at saturation, not at waiting.
  const loadFailed = ev.results.some((r) => r.name === 'load' && r.status === 'error');
  // Without load figures "not saturated" is an assumption, so the confidence says so.
  const confidence = clamp((rows.length ? 0.75 : loadFailed ? 0.45 : 0.6) + (signals > 1 ? 0.1 : 0));
  const list = slow.length ? slow.map(hostPort).join(', ') : 'the upstream';
  const db = database(ev);
  const stuck = dependencies(ev).filter((d) => d.status !== 'ok');
  return {
    cause: 'upstream_timeout',
    confidence,
    summary: `${list} accept${slow.length === 1 ? 's' : ''} connections but answer${slow.length === 1 ? 's' : ''} too slowly${gateway504 ? ' (the proxy gives 504)' : ''}${peak !== null ? `, with CPU at most ${percent(peak)}: it waits, it does not work` : ''}.`,
    actions: [
      ...stuck.map(
        (d) =>
          `The app's own dependency ${hostPort(d)} ${d.outcome === 'timeout' ? 'times out' : `fails (${d.outcome})`} from here too: that is likely what it waits for. Fix it, or give the app's calls to it a timeout shorter than the proxy's.`,
      ),
      `Find what the app on ${list} waits for: its slowest requests and their downstream calls, a thread/worker pool that is full, a stuck job (a thread dump or \`SIGQUIT\` for a JVM, \`py-spy dump\`, Node's --inspect).`,
      ...(db && db.outcome === 'ok'
        ? [
            `${cap(dbLabel(db))} answers in ${db.p95_ms ?? '?'} ms at p95${databases(ev).length > 1 ? ' (the worst of the databases)' : ''}, so look at the other dependencies first.`,
          ]
        : []),
      ...(loadFailed
        ? [
            'The load check could not read the instances: if they are too busy to answer it, this is saturation. Check their CPU by hand (`top`, the dashboards).',
          ]
        : []),
      "Do not just raise the proxy's timeout (proxy_read_timeout): that hides the wait and holds more connections open.",
    ],
  };
};

export const upstreamTimeoutCause = defineCause({
  id: 'upstream_timeout',
  recommendation: 'fix',
  label: 'The targets answer too slowly while their CPU and memory are not saturated.',
  rule: upstreamTimeout,
  triggeredBy: ['deploy'],
  colour: '#9467bd',
});
