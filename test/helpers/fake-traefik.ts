import { type FakeHttp, fakeHttp } from './fake-http.js';

export interface TraefikServer {
  url: string;
  up: boolean;
}

export interface FakeTraefik extends FakeHttp {
  /** Counts one answer of `service` with this status, as traefik_service_requests_total does. */
  answered(service: string, code: number, n?: number): void;
}

/**
 * Traefik is not in Debian: this fake is its Prometheus metrics endpoint
 * (`GET /metrics`, text format) with the documented families and labels:
 * `traefik_service_server_up{service,url}` (1 up, 0 down) and
 * `traefik_service_requests_total{code,method,protocol,service}`.
 */
export async function startFakeTraefik(service: string, servers: TraefikServer[]): Promise<FakeTraefik> {
  const requests = new Map<string, number>();
  const fake = await fakeHttp((req, res) => {
    if (req.path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return;
    }
    const lines = [
      '# HELP traefik_service_requests_total How many HTTP requests processed on a service, partitioned by status code, protocol, and method.',
      '# TYPE traefik_service_requests_total counter',
      ...[...requests].map(([key, n]) => {
        const [svc, code] = key.split(' ');
        return `traefik_service_requests_total{code="${code}",method="GET",protocol="http",service="${svc}"} ${n}`;
      }),
      '# HELP traefik_service_server_up service server is up, described by gauge value of 0 or 1.',
      '# TYPE traefik_service_server_up gauge',
      ...servers.map((s) => `traefik_service_server_up{service="${service}",url="${s.url}"} ${s.up ? 1 : 0}`),
    ];
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(`${lines.join('\n')}\n`);
  });
  return {
    ...fake,
    answered(svc, code, n = 1) {
      const key = `${svc} ${code}`;
      requests.set(key, (requests.get(key) ?? 0) + n);
    },
  };
}
