import { defined, getStatsPage, num, onOrigin } from './read.js';
import type { BackendView, StatsReader, StatsSnapshot, UpstreamFailure, UpstreamView } from './types.js';

const HOST_COUNTERS = ['cx_connect_fail', 'rq_timeout', 'rq_error', 'rq_total', 'cx_total'] as const;
const HOST_GAUGES = ['cx_active', 'rq_active'] as const;

/** `/clusters` text: `cluster::key::value` and `cluster::host:port::key::value`. */
export function parseEnvoyClusters(text: string, cluster: string | undefined): UpstreamView[] {
  const hosts = new Map<string, { cluster: string; fields: Map<string, string> }>();
  for (const line of text.split('\n')) {
    const parts = line.trim().split('::');
    if (parts.length !== 4) continue;
    const [name = '', host = '', key = '', value = ''] = parts;
    if (cluster !== undefined && name !== cluster) continue;
    // Per-host lines have an address (ip:port, [v6]:port, or a pipe path) as their second part.
    if (!/:\d+$|^\//.test(host)) continue;
    const id = `${name}::${host}`;
    const entry = hosts.get(id) ?? { cluster: name, fields: new Map() };
    entry.fields.set(key, value);
    hosts.set(id, entry);
  }
  return [...hosts].map(([id, { cluster: name, fields }]) => {
    const address = id.slice(name.length + 2);
    const flags = fields.get('health_flags') ?? '';
    const counters = defined(Object.fromEntries(HOST_COUNTERS.map((c) => [c, num(fields.get(c))])));
    const gauges = defined(Object.fromEntries(HOST_GAUGES.map((g) => [g, num(fields.get(g))])));
    const down = flags !== '' && flags !== 'healthy';
    // Per host, Envoy counts connect failures without saying refused or timed out, so that stays a probe's to tell.
    const failure: UpstreamFailure | null = !down
      ? null
      : (counters.rq_timeout ?? 0) > 0 && (counters.cx_connect_fail ?? 0) === 0
        ? 'timeout'
        : 'unhealthy';
    return {
      name: address,
      backend: name,
      address,
      state: flags === '' ? 'unknown' : down ? 'down' : 'up',
      failure,
      detail: flags || 'no health flags',
      counters,
      gauges,
    };
  });
}

const CLUSTER_STATS = [
  'upstream_cx_connect_fail',
  'upstream_cx_connect_timeout',
  'upstream_cx_destroy_remote_with_active_rq',
  'upstream_rq_pending_overflow',
  'upstream_cx_none_healthy',
  'upstream_rq_timeout',
  'upstream_rq_5xx',
  'lb_healthy_panic',
] as const;

/** `/stats` text, `name: value` per line: the cluster's counters and membership gauges. */
export function parseEnvoyStats(text: string, cluster: string | undefined): BackendView[] {
  const values = new Map<string, Map<string, number>>();
  for (const line of text.split('\n')) {
    const m = /^cluster\.(.+)\.([a-z_0-9]+): (\d+)$/.exec(line.trim());
    if (!m?.[1] || !m[2] || m[1].includes('.')) continue;
    if (cluster !== undefined && m[1] !== cluster) continue;
    const map = values.get(m[1]) ?? new Map<string, number>();
    map.set(m[2], Number(m[3]));
    values.set(m[1], map);
  }
  return [...values].map(([name, map]) => {
    const healthy = map.get('membership_healthy');
    return {
      name,
      state: healthy === undefined ? 'unknown' : healthy === 0 ? 'down' : 'up',
      counters: defined(Object.fromEntries(CLUSTER_STATS.map((c) => [c, map.get(c)]))),
      gauges: defined({ membership_healthy: healthy, membership_total: map.get('membership_total') }),
    };
  });
}

/** Envoy's admin API: `/clusters` per host (health flags, connect failures) and `/stats` per cluster. */
export const readEnvoyStats: StatsReader = async (req): Promise<StatsSnapshot> => {
  const cluster = req.config.backend;
  const clusters = await getStatsPage(req, onOrigin(req.config.url, '/clusters'), 'text/plain');
  const filter = cluster
    ? `?filter=${encodeURIComponent(`^cluster\\.${cluster.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`)}`
    : '';
  const stats = await getStatsPage(req, onOrigin(req.config.url, `/stats${filter}`), 'text/plain');
  return {
    upstreams: parseEnvoyClusters(clusters.text, cluster),
    backends: parseEnvoyStats(stats.text, cluster),
    bytes: clusters.bytes + stats.bytes,
    truncated: clusters.truncated || stats.truncated,
    says_how: false,
  };
};
