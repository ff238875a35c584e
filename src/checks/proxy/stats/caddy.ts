import { z } from 'zod';
import { GatewatchError } from '../../../errors.js';
import { parseExposition, sumOf } from '../../load/exposition.js';
import { defined, getStatsPage, onOrigin } from './read.js';
import type { BackendView, StatsReader, StatsSnapshot, UpstreamView } from './types.js';

// 2.6+ has exactly these three; 2.4/2.5 also had `healthy`.
const Upstreams = z.array(
  z.object({
    address: z.string(),
    num_requests: z.number().optional(),
    fails: z.number().optional(),
    healthy: z.boolean().optional(),
  }),
);

/**
 * `caddy_reverse_proxy_upstreams_healthy` by dial address (active checks, passive
 * fails and the breaker together, refreshed every 10 s) and the reverse proxy's
 * request and error counters. Null when Caddy serves no metrics.
 */
async function readMetrics(req: Parameters<StatsReader>[0]) {
  try {
    const page = await getStatsPage(req, onOrigin(req.config.url, '/metrics'), 'text/plain');
    const samples = parseExposition(page.text);
    const health = new Map<string, boolean>();
    for (const s of samples)
      if (s.name === 'caddy_reverse_proxy_upstreams_healthy' && s.labels.upstream)
        health.set(s.labels.upstream, s.value === 1);
    // Only with `servers { metrics }` (2.6): in 2.6 a failed round trip counts as an error, not a code="502".
    const proxied = (l: Record<string, string>) => l.handler === 'reverse_proxy';
    const counters = defined({
      requests: sumOf(samples, 'caddy_http_requests_total', proxied) ?? undefined,
      request_errors: sumOf(samples, 'caddy_http_request_errors_total', proxied) ?? undefined,
    });
    const backends: BackendView[] =
      Object.keys(counters).length > 0
        ? [{ name: 'reverse_proxy', state: 'unknown', counters, gauges: {} }]
        : [];
    return { health, backends };
  } catch (err) {
    // Metrics are a bonus here: the upstream list alone still names the failing ones.
    if (req.signal.aborted) throw err;
    return null;
  }
}

/**
 * Caddy 2's admin API: `/reverse_proxy/upstreams` (in-flight requests and passive
 * fails per dial address) and, when served, `/metrics`. Caddy never says how an
 * upstream fails, so gatewatch probes the addresses it learns here.
 */
export const readCaddyStats: StatsReader = async (req): Promise<StatsSnapshot> => {
  const page = await getStatsPage(
    req,
    onOrigin(req.config.url, '/reverse_proxy/upstreams'),
    'application/json',
  );
  let list: z.infer<typeof Upstreams>;
  try {
    list = Upstreams.parse(JSON.parse(page.text));
  } catch {
    throw new GatewatchError(
      'CHECK_FAILED',
      `caddy admin ${onOrigin(req.config.url, '/reverse_proxy/upstreams')} did not answer an upstream list${page.truncated ? ' (cut at max_bytes)' : ''}`,
      { retryable: false },
    );
  }
  const metrics = await readMetrics(req);
  const health = metrics?.health;
  const upstreams: UpstreamView[] = list.map((u) => {
    const healthy = u.healthy ?? health?.get(u.address);
    const fails = u.fails ?? 0;
    const words = [healthy === false ? 'unhealthy' : healthy ? 'healthy' : null, `fails ${fails}`];
    return {
      name: u.address,
      backend: null,
      address: u.address,
      state: healthy === false ? 'down' : healthy ? 'up' : 'unknown',
      failure: healthy === false || fails > 0 ? 'unhealthy' : null,
      detail: words.filter(Boolean).join(', '),
      counters: {},
      gauges: { num_requests: u.num_requests ?? 0, fails },
    };
  });
  return {
    upstreams,
    backends: metrics?.backends ?? [],
    bytes: page.bytes,
    truncated: page.truncated,
    says_how: false,
  };
};
