import { parseExposition } from '../../load/exposition.js';
import { upstreamAddress } from '../log/address.js';
import { getStatsPage } from './read.js';
import type { BackendView, StatsReader, StatsSnapshot, UpstreamView } from './types.js';

/**
 * Traefik's Prometheus metrics: `traefik_service_server_up{service,url}` per server
 * and `traefik_service_requests_total{service,code}` per service. Traefik says which
 * server is down, never how, so gatewatch probes what it learns here.
 */
export const readTraefikStats: StatsReader = async (req): Promise<StatsSnapshot> => {
  const page = await getStatsPage(req, req.config.url, 'text/plain');
  const samples = parseExposition(page.text).filter(
    (s) => req.config.backend === undefined || s.labels.service === req.config.backend,
  );
  const upstreams: UpstreamView[] = samples
    .filter((s) => s.name === 'traefik_service_server_up' && s.labels.url)
    .map((s) => ({
      name: s.labels.url ?? '',
      backend: s.labels.service ?? null,
      address: upstreamAddress(s.labels.url ?? ''),
      state: s.value === 1 ? 'up' : 'down',
      failure: s.value === 1 ? null : 'unhealthy',
      detail: s.value === 1 ? 'server up' : 'server down',
      counters: {},
      gauges: {},
    }));
  const services = new Set(
    samples.filter((s) => s.name === 'traefik_service_requests_total').map((s) => s.labels.service ?? ''),
  );
  const backends: BackendView[] = [...services].map((service) => {
    const requests = samples.filter(
      (s) => s.name === 'traefik_service_requests_total' && s.labels.service === service,
    );
    const sum = (pred: (code: number) => boolean) =>
      requests.filter((s) => pred(Number(s.labels.code))).reduce((a, s) => a + s.value, 0);
    return {
      name: service,
      state: 'unknown',
      counters: { requests: sum(() => true), hrsp_5xx: sum((c) => c >= 500 && c <= 599) },
      gauges: {},
    };
  });
  return { upstreams, backends, bytes: page.bytes, truncated: page.truncated, says_how: false };
};
