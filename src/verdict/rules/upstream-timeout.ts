import {
  clamp,
  database,
  dominantLog,
  gatewayErrorsNow,
  hostPort,
  loadRows,
  percent,
  statusCount,
  timingOutTargets,
} from '../evidence.js';
import type { Rule } from '../types.js';

/**
 * Targets are reached but answer too late, while their CPU is not saturated:
 * the app waits on something (a dependency, a lock, a pool) rather than working.
 */
export const upstreamTimeout: Rule = (ev) => {
  const slow = timingOutTargets(ev);
  const top = dominantLog(ev);
  const now = gatewayErrorsNow(ev);
  const logSays = top?.kind === 'timeout' && now !== false;
  const gateway504 = statusCount(ev, 504) > 0;
  if (slow.length === 0 && !logSays && !gateway504) return null;
  const rows = loadRows(ev).filter((r) => r.cpu !== null);
  if (rows.some((r) => r.over.length > 0)) return null;
  const peak = rows.length ? Math.max(...rows.map((r) => r.cpu ?? 0)) : null;
  const signals = [slow.length > 0, logSays, gateway504].filter(Boolean).length;
  // A load check that could not read busy instances hints at saturation, not at waiting.
  const loadFailed = ev.results.some((r) => r.name === 'load' && r.status === 'error');
  // Without load figures "not saturated" is an assumption, so the confidence says so.
  const confidence = clamp((rows.length ? 0.75 : loadFailed ? 0.45 : 0.6) + (signals > 1 ? 0.1 : 0));
  const list = slow.length ? slow.map(hostPort).join(', ') : 'the upstream';
  const db = database(ev);
  return {
    cause: 'upstream_timeout',
    confidence,
    summary: `${list} accept${slow.length === 1 ? 's' : ''} connections but answer${slow.length === 1 ? 's' : ''} too slowly${gateway504 ? ' (the proxy gives 504)' : ''}${peak !== null ? `, with CPU at most ${percent(peak)}: it waits, it does not work` : ''}.`,
    actions: [
      `Find what the app on ${list} waits for: its slowest requests and their downstream calls, a thread/worker pool that is full, a stuck job (a thread dump or \`SIGQUIT\` for a JVM, \`py-spy dump\`, Node's --inspect).`,
      ...(db && db.outcome === 'ok'
        ? [
            `The ${db.kind} database answers in ${db.p95_ms ?? '?'} ms at p95, so look at the other dependencies first.`,
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
