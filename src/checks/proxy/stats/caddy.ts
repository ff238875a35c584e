import { z } from 'zod';
import { GatewatchError } from '../../../errors.js';
import { parseExposition } from '../../load/exposition.js';
import { getStatsPage, onOrigin } from './read.js';
import type { StatsReader, StatsSnapshot, UpstreamView } from './types.js';

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
 * `caddy_reverse_proxy_upstreams_healthy` by dial address: active checks, passive
 * fails and the breaker together, refreshed every 10 s. Absent without metrics.
 */
async function healthFromMetrics(req: Parameters<StatsReader>[0]): Promise<Map<string, boolean> | null> {
  try {
    const page = await getStatsPage(req, onOrigin(req.config.url, '/metrics'), 'text/plain');
    const out = new Map<string, boolean>();
    for (const s of parseExposition(page.text))
      if (s.name === 'caddy_reverse_proxy_upstreams_healthy' && s.labels.upstream)
        out.set(s.labels.upstream, s.value === 1);
    return out;
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
  const health = await healthFromMetrics(req);
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
  return { upstreams, backends: [], bytes: page.bytes, truncated: page.truncated, says_how: false };
};
