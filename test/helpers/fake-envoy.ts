import type { ServerResponse } from 'node:http';
import { type FakeHttp, fakeHttp } from './fake-http.js';

/** One host of the fake's cluster: its counters and whether Envoy's checks fail it. */
export interface EnvoyHost {
  address: string;
  /** `healthy`, or Envoy's flags: `/failed_active_hc`, `/failed_outlier_check`, `/failed_eds_health`… */
  health_flags: string;
  cx_connect_fail?: number;
  rq_timeout?: number;
  rq_error?: number;
  rq_total?: number;
}

export interface FakeEnvoy extends FakeHttp {
  /** Replaces a host's state (counters keep counting up as a real Envoy's do). */
  setHost(host: EnvoyHost): void;
}

/**
 * Envoy cannot be installed here: this fake is its admin listener's two read
 * endpoints, in Envoy's exact text formats (test/fixtures/envoy/): `GET /clusters`
 * (`cluster::host:port::key::value`) and `GET /stats` (`name: value`, honouring
 * `filter=` as a regex). Only GETs; the admin API has no auth.
 */
export async function startFakeEnvoy(cluster: string, hosts: EnvoyHost[]): Promise<FakeEnvoy> {
  const state = new Map(hosts.map((h) => [h.address, h]));
  const text = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=UTF-8' });
    res.end(body);
  };
  const fake = await fakeHttp((req, res) => {
    if (req.method !== 'GET') return text(res, 405, 'This endpoint requires GET.\n');
    const all = [...state.values()];
    if (req.path === '/clusters') {
      const lines = [
        'version_info::static',
        `${cluster}::observability_name::${cluster}`,
        `${cluster}::default_priority::max_connections::1024`,
        `${cluster}::default_priority::max_pending_requests::1024`,
        `${cluster}::added_via_api::false`,
      ];
      for (const h of all)
        lines.push(
          `${cluster}::${h.address}::cx_active::0`,
          `${cluster}::${h.address}::cx_connect_fail::${h.cx_connect_fail ?? 0}`,
          `${cluster}::${h.address}::cx_total::${h.rq_total ?? 0}`,
          `${cluster}::${h.address}::rq_active::0`,
          `${cluster}::${h.address}::rq_error::${h.rq_error ?? 0}`,
          `${cluster}::${h.address}::rq_success::${(h.rq_total ?? 0) - (h.rq_error ?? 0)}`,
          `${cluster}::${h.address}::rq_timeout::${h.rq_timeout ?? 0}`,
          `${cluster}::${h.address}::rq_total::${h.rq_total ?? 0}`,
          `${cluster}::${h.address}::hostname::`,
          `${cluster}::${h.address}::health_flags::${h.health_flags}`,
          `${cluster}::${h.address}::weight::1`,
          `${cluster}::${h.address}::priority::0`,
          `${cluster}::${h.address}::success_rate::-1`,
        );
      return text(res, 200, `${lines.join('\n')}\n`);
    }
    if (req.path === '/stats') {
      const sum = (k: keyof EnvoyHost) => all.reduce((a, h) => a + Number(h[k] ?? 0), 0);
      const healthy = all.filter((h) => h.health_flags === 'healthy').length;
      const stats: [string, number][] = [
        ['lb_healthy_panic', healthy * 2 < all.length ? sum('rq_total') : 0],
        ['membership_healthy', healthy],
        ['membership_total', all.length],
        ['upstream_cx_connect_fail', sum('cx_connect_fail')],
        ['upstream_cx_connect_timeout', 0],
        ['upstream_cx_destroy_remote_with_active_rq', 0],
        ['upstream_cx_none_healthy', healthy === 0 ? sum('rq_total') : 0],
        ['upstream_rq_5xx', sum('rq_error')],
        ['upstream_rq_pending_overflow', 0],
        ['upstream_rq_timeout', sum('rq_timeout')],
      ];
      const filter = req.query.get('filter');
      const re = filter ? new RegExp(filter) : null;
      const lines = stats
        .map(([k, v]) => `cluster.${cluster}.${k}: ${v}`)
        .filter((l) => !re || re.test(l.split(':')[0] ?? ''));
      return text(res, 200, `${lines.join('\n')}\n`);
    }
    return text(res, 404, 'invalid path. admin commands are:\n');
  });
  return {
    ...fake,
    setHost(host) {
      state.set(host.address, host);
    },
  };
}
