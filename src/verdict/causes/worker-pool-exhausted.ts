import {
  clamp,
  hostPort,
  loadOver,
  loadRows,
  logActive,
  logSignatures,
  percent,
  targets,
} from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/**
 * The upstream's workers are all busy and its listen backlog is full, while the
 * host has CPU and memory to spare: the pool is too small or its workers wait on
 * something. With the host saturated it is capacity (upstream_saturated), not this.
 */
export const workerPoolExhausted: Rule = (ev) => {
  const sigs = logSignatures(ev, ['backlog_full']);
  const lines = logActive(ev) ? sigs.reduce((a, s) => a + s.count, 0) : 0;
  const busy = targets(ev).filter((t) => (t.outcomes.busy ?? 0) > 0);
  if (lines === 0 && busy.length === 0) return null;
  if (loadOver(ev)) return null;
  const rows = loadRows(ev).filter((r) => r.cpu !== null);
  const peak = rows.length ? Math.max(...rows.map((r) => r.cpu ?? 0)) : null;
  const where = busy.length ? busy.map(hostPort) : sigs.flatMap((s) => s.upstreams.map((u) => u.address));
  const list = [...new Set(where)].slice(0, 3).join(', ') || 'the upstream';
  return {
    cause: 'worker_pool_exhausted',
    confidence: clamp((rows.length ? 0.8 : 0.65) + (lines > 0 && busy.length > 0 ? 0.05 : 0)),
    summary: `${list} turns connections away: its listen backlog is full (${lines ? `${lines} \`Resource temporarily unavailable\` in the proxy's log` : 'EAGAIN on connect'})${peak !== null ? `, while CPU is at most ${percent(peak)}: the worker pool is exhausted, not the host` : ''}.`,
    actions: [
      'Give the pool more workers the host can afford: php-fpm `pm.max_children` (and `pm = static`/`dynamic` limits), uWSGI `--processes`/`--listen 1024`, gunicorn `--workers`/`--threads`.',
      'Raise the listen backlog so bursts queue instead of failing: php-fpm `listen.backlog = 1024` with `sysctl net.core.somaxconn=1024`.',
      'Find what holds workers: the slow log (php-fpm `request_slowlog_timeout = 5s`, gunicorn `--timeout`), a slow dependency every request waits on.',
    ],
  };
};

export const workerPoolExhaustedCause = defineCause({
  id: 'worker_pool_exhausted',
  recommendation: 'fix',
  label: "The upstream's worker pool or listen backlog is full while its host has CPU and memory to spare.",
  rule: workerPoolExhausted,
  triggeredBy: ['deploy', 'config'],
  colour: '#843c39',
});
