import { clamp, loadRows, log, percent, targets } from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/** A process that started this recently has restarted during the incident. */
const RECENT_START_S = 15 * 60;
/** Growth worth calling a leak: this share of the memory limit per minute. */
const LEAK_SHARE_PER_MINUTE = 0.02;

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

/**
 * Processes restart at their memory limit, and their memory climbs again from
 * the start: a leak, most often brought by a deploy. A steady working set at the
 * limit is load (upstream_saturated), and more instances would not cure a leak.
 */
export const memoryLeak: Rule = (ev) => {
  const leaking = loadRows(ev).filter(
    (r) =>
      r.source === 'process' &&
      r.uptime_s != null &&
      r.uptime_s < RECENT_START_S &&
      r.memory_limit_bytes != null &&
      (r.memory_growth_bytes_per_s ?? 0) * 60 >= LEAK_SHARE_PER_MINUTE * r.memory_limit_bytes,
  );
  if (leaking.length === 0) return null;
  const l = log(ev);
  const failing = targets(ev).filter((t) => t.status !== 'ok');
  if ((l?.errors ?? 0) === 0 && failing.length === 0) return null;
  const r = leaking[0]!;
  const perMinute = (r.memory_growth_bytes_per_s ?? 0) * 60;
  const headroom = Math.max(0, (r.memory_limit_bytes ?? 0) - (r.memory_bytes ?? 0));
  const minutesLeft = perMinute > 0 ? Math.round(headroom / perMinute) : null;
  return {
    cause: 'memory_leak',
    confidence: clamp(0.7 + (leaking.length > 1 ? 0.05 : 0) + ((r.memory ?? 0) > 0.5 ? 0.05 : 0)),
    summary: `${leaking.map((x) => x.instance).join(', ')} restarted ${Math.round((r.uptime_s ?? 0) / 60)} min ago and its memory climbs ${mib(perMinute)}/min (${mib(r.memory_bytes ?? 0)}, ${percent(r.memory ?? 0)} of its ${mib(r.memory_limit_bytes ?? 0)} limit${minutesLeft !== null ? `, full in about ${minutesLeft} min` : ''}): it leaks, dies at the limit and restarts, and requests fail meanwhile.`,
    actions: [
      'Find the leak: compare two heap snapshots a few minutes apart (Node `--heapsnapshot-signal=SIGUSR2`, Java `jmap -dump`, Python `tracemalloc`); the deploy before the restarts began is the first suspect.',
      'Until it is fixed, restart instances on a schedule before they reach the limit, staggered so they never restart together; raising the limit only buys time.',
    ],
  };
};

export const memoryLeakCause = defineCause({
  id: 'memory_leak',
  recommendation: 'fix',
  label: 'The upstream processes die at their memory limit and restart, memory climbing between restarts.',
  rule: memoryLeak,
  triggeredBy: ['deploy'],
  colour: '#fd8d3c',
});
