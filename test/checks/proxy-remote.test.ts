// The proxy check reading evidence over the network: error logs from Loki and
// Elasticsearch (fakes speaking their APIs, fed with the real captured payloads),
// and the stats of HAProxy, Caddy, Envoy and Traefik, parsed from real captures.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ProxyEvidence,
  proxyCheck,
  proxyLearnedTargets,
  proxyLog,
  proxyStats,
} from '../../src/checks/proxy/check.js';
import { parseIngressNginxLine } from '../../src/checks/proxy/log/ingress-nginx.js';
import { parseEnvoyClusters, parseEnvoyStats } from '../../src/checks/proxy/stats/envoy.js';
import { parseHaproxyCsv, parseHaproxyMetrics } from '../../src/checks/proxy/stats/haproxy.js';
import { STATS_READERS } from '../../src/checks/proxy/stats/registry.js';
import type { CheckOutput } from '../../src/checks/types.js';
import { ProxyCheckSchema } from '../../src/playbooks/schema.js';
import { decide } from '../../src/verdict/engine.js';
import { checkContext } from '../helpers/check-context.js';
import { type FakeElasticsearch, startFakeElasticsearch } from '../helpers/fake-elasticsearch.js';
import { startFakeEnvoy } from '../helpers/fake-envoy.js';
import { fakeHttp } from '../helpers/fake-http.js';
import { type FakeLoki, startFakeLoki } from '../helpers/fake-loki.js';
import { startFakeTraefik } from '../helpers/fake-traefik.js';
import { serverStatus, startHaproxy, waitForStats } from '../helpers/haproxy.js';
import { freePort } from '../helpers/ports.js';
import { healthyUpstream, type Upstream } from '../helpers/upstreams.js';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
const SECRET = 'remote-s3cret-value';

function runProxy(config: unknown, env: Record<string, string> = {}, now?: number) {
  return proxyCheck.run(
    ProxyCheckSchema.parse(config),
    checkContext({ env, ...(now === undefined ? {} : { now: () => now, onsetAt: now }) }),
  ) as Promise<CheckOutput<ProxyEvidence>>;
}

let fakes: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  fakes = [];
});
const own = <T extends { close(): Promise<void> }>(f: T): T => {
  fakes.push(f);
  return f;
};

/** A fake that answers every request with one captured body, as the real server sent it. */
const replay = (body: string, type: string) =>
  fakeHttp((_, res) => {
    res.writeHead(200, { 'content-type': type });
    res.end(body);
  });

// The fixture's six entries, 2024-11-03 06:09:12..06:09:45 UTC.
const FIXTURE_NOW = Date.parse('2024-11-03T06:10:00Z');

describe('error log from Loki', () => {
  it('counts the captured query_range answer by signature, with Loki’s own timestamps', async () => {
    const loki = own(await replay(fixture('loki/query-range-streams.json'), 'application/json'));
    const out = await runProxy(
      {
        error_log: {
          source: 'loki',
          format: 'ingress-nginx',
          loki: { url: loki.url, query: '{job="nginx"}' },
        },
      },
      {},
      FIXTURE_NOW,
    );
    const log = proxyLog(out.evidence);
    expect(log?.error).toBeNull();
    expect(log?.source).toBe('loki');
    expect(log?.errors).toBe(6);
    const counts = Object.fromEntries(log!.signatures.map((s) => [s.id, s.count]));
    expect(counts).toEqual({ refused: 2, premature_close: 2, timeout: 1, connect_timeout: 1 });
    // The entry's nanoseconds (…31.905114210), not the line's whole second: the store's time wins.
    expect(log!.signatures.find((s) => s.id === 'refused')?.last_at).toBe('2024-11-03T06:09:31.905Z');
    expect(out.status).toBe('warn');
  });

  describe('against the fake Loki', () => {
    let loki: FakeLoki;
    let now: number;
    const config = (extra: Record<string, unknown> = {}) => ({
      error_log: {
        source: 'loki',
        window_minutes: 10,
        loki: {
          url: loki.url,
          query: '{job="nginx"} |= "upstream"',
          token_env: 'LOKI_TOKEN',
          tenant: 'edge',
          ...extra,
        },
      },
    });
    const line = (at: number, port: number) => {
      const d = new Date(at);
      const two = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}/${two(d.getMonth() + 1)}/${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://10.0.1.11:${port}/", host: "edge"`;
    };

    beforeAll(async () => {
      loki = await startFakeLoki({ token: SECRET, tenant: 'edge' });
      now = Date.now();
      loki.push({ job: 'nginx' }, [line(now - 60_000, 8080), line(now - 30_000, 8080)], now - 30_000);
      // Outside the window: stored 20 min ago, Loki must not return it.
      loki.push({ job: 'nginx' }, [line(now - 20 * 60_000, 9999)], now - 20 * 60_000);
      loki.push({ job: 'other' }, [line(now - 10_000, 7777)], now - 10_000);
    });
    afterAll(() => loki.close());
    afterEach(() => loki.heal());

    it('asks query_range for the window, newest first, with the token and tenant, and shows neither', async () => {
      const out = await runProxy(config(), { LOKI_TOKEN: SECRET }, now);
      const log = proxyLog(out.evidence)!;
      expect(log.error).toBeNull();
      expect(log.errors).toBe(2);
      expect(log.upstreams).toEqual([{ address: '10.0.1.11:8080', count: 2 }]);
      const asked = loki.requests.at(-1)!;
      expect(asked.path).toBe('/loki/api/v1/query_range');
      expect(asked.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(asked.headers['x-scope-orgid']).toBe('edge');
      expect(asked.query.get('direction')).toBe('backward');
      expect(asked.query.get('limit')).toBe('1000');
      const start = BigInt(asked.query.get('start')!);
      expect(start).toBe(BigInt(now - 10 * 60_000) * 1_000_000n);
      const json = JSON.stringify(out);
      expect(json).not.toContain(SECRET);
      expect(json).not.toContain('"edge"');
    });

    it('says when the line limit cut the window short', async () => {
      const out = await runProxy(config({ limit: 1 }), { LOKI_TOKEN: SECRET }, now);
      const log = proxyLog(out.evidence)!;
      expect(log.errors).toBe(1);
      expect(log.truncated).toBe(true);
      expect(log.truncated_reason).toContain('line limit (1)');
      expect(out.summary).toContain("1 upstream errors in the log's last 10 min (from loki)");
      expect(out.summary).toContain('Loki returned the line limit (1)');
    });

    it.each([
      [
        'a LogQL parse error (400)',
        400,
        fixture('loki/error-400-parse.txt'),
        'HTTP 400: parse error at line 1, col 3',
      ],
      [
        'a full query queue (429)',
        429,
        fixture('loki/error-429-too-many-outstanding.txt'),
        'HTTP 429: too many outstanding requests',
      ],
    ])('reports %s as the check error with Loki’s reason', async (_, status, body, expected) => {
      loki.fail(status, body);
      const out = await runProxy(config(), { LOKI_TOKEN: SECRET }, now);
      expect(out.status).toBe('error');
      expect(proxyLog(out.evidence)?.error).toContain(expected);
    });

    it('reports a real parse error from a bad selector, and a wrong token as 401', async () => {
      const bad = await runProxy(
        {
          error_log: {
            source: 'loki',
            loki: { url: loki.url, query: '{job}', token_env: 'LOKI_TOKEN', tenant: 'edge' },
          },
        },
        { LOKI_TOKEN: SECRET },
        now,
      );
      expect(proxyLog(bad.evidence)?.error).toMatch(/HTTP 400: parse error at line 1/);
      const denied = await runProxy(config(), { LOKI_TOKEN: 'wrong' }, now);
      expect(proxyLog(denied.evidence)?.error).toContain('HTTP 401');
      expect(JSON.stringify(denied)).not.toContain('wrong');
    });

    it('gives up at timeout_ms on a Loki that never answers', async () => {
      loki.hang();
      const out = await runProxy({ ...config(), timeout_ms: 300 }, { LOKI_TOKEN: SECRET }, now);
      expect(proxyLog(out.evidence)?.error).toBe('loki unreadable: no answer within 300 ms');
    });

    it('names a missing secret variable, not its value', async () => {
      const out = await runProxy(config(), {}, now);
      expect(proxyLog(out.evidence)?.error).toBe(
        'loki unreadable: environment variable LOKI_TOKEN is not set',
      );
    });

    it('bounds the answer: more than max_bytes is an error that says so', async () => {
      const many = Array.from({ length: 200 }, (_, i) => line(now - 1000 - i, 8080));
      loki.push({ job: 'big' }, many, now - 1000);
      const out = await runProxy(
        {
          error_log: {
            source: 'loki',
            max_bytes: 4096,
            loki: { url: loki.url, query: '{job="big"}', token_env: 'LOKI_TOKEN', tenant: 'edge' },
          },
        },
        { LOKI_TOKEN: SECRET },
        now,
      );
      expect(proxyLog(out.evidence)?.error).toContain('more than max_bytes (4096)');
    });
  });
});

describe('error log from Elasticsearch', () => {
  it('reads the captured _search answer, putting back the head the nginx integration stripped', async () => {
    const es = own(await replay(fixture('elasticsearch/search-response.json'), 'application/json'));
    const out = await runProxy(
      { error_log: { source: 'elasticsearch', elasticsearch: { url: es.url, index: 'logs-nginx.error-*' } } },
      {},
      FIXTURE_NOW,
    );
    const log = proxyLog(out.evidence)!;
    expect(log.error).toBeNull();
    expect(log.errors).toBe(3);
    expect(Object.fromEntries(log.signatures.map((s) => [s.id, s.count]))).toEqual({
      premature_close: 1,
      refused: 1,
      timeout: 1,
    });
    expect(log.signatures.find((s) => s.id === 'premature_close')?.last_at).toBe('2024-11-03T06:09:45.000Z');
  });

  describe('against the fake Elasticsearch', () => {
    let es: FakeElasticsearch;
    const now = Date.now();
    const config = (extra: Record<string, unknown> = {}) => ({
      error_log: {
        source: 'elasticsearch',
        elasticsearch: {
          url: es.url,
          index: 'logs-nginx.error-*,filebeat-*',
          query: 'event.dataset:nginx.error',
          api_key_env: 'ES_KEY',
          ...extra,
        },
      },
    });
    beforeAll(async () => {
      es = await startFakeElasticsearch({ apiKey: SECRET });
      const doc = (minutesAgo: number, message: string, dataset = 'nginx.error') => ({
        '@timestamp': new Date(now - minutesAgo * 60_000).toISOString(),
        event: { dataset },
        log: { level: 'error' },
        message,
      });
      const reset = (port: number) =>
        `recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 10.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://10.0.1.12:${port}/", host: "edge"`;
      es.index('logs-nginx.error-default', doc(1, reset(8080)));
      es.index('logs-nginx.error-default', doc(2, reset(8080)));
      es.index('logs-nginx.error-default', doc(30, reset(9999)));
      es.index('logs-nginx.access-default', doc(1, reset(7777)));
      es.index('filebeat-8', doc(3, reset(8081), 'nginx.access'));
    });
    afterAll(() => es.close());
    afterEach(() => es.heal());

    it('searches the window with the query and the API key, newest first', async () => {
      const out = await runProxy(config(), { ES_KEY: SECRET }, now);
      const log = proxyLog(out.evidence)!;
      expect(log.error).toBeNull();
      expect(log.errors).toBe(2);
      expect(log.upstreams).toEqual([{ address: '10.0.1.12:8080', count: 2 }]);
      const asked = es.requests.at(-1)!;
      expect(asked.method).toBe('POST');
      expect(asked.path).toBe('/logs-nginx.error-*,filebeat-*/_search');
      expect(asked.headers.authorization).toBe(`ApiKey ${SECRET}`);
      const body = JSON.parse(asked.body);
      expect(body.sort).toEqual([{ '@timestamp': { order: 'desc' } }]);
      expect(body.size).toBe(500);
      expect(JSON.stringify(out)).not.toContain(SECRET);
    });

    it('reports 401 and 400 with the reason Elasticsearch gives', async () => {
      const denied = await runProxy(config(), { ES_KEY: 'not-the-key' }, now);
      expect(proxyLog(denied.evidence)?.error).toContain(
        'HTTP 401: security_exception: missing authentication credentials for REST request [/]',
      );
      es.fail(400, fixture('elasticsearch/error-400-parsing_exception.json'), 'application/json');
      const bad = await runProxy(config(), { ES_KEY: SECRET }, now);
      expect(proxyLog(bad.evidence)?.error).toContain(
        'HTTP 400: parsing_exception: no [query] registered for [foo]',
      );
      es.fail(
        429,
        '{"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"},"status":429}',
      );
      const busy = await runProxy(config(), { ES_KEY: SECRET }, now);
      expect(proxyLog(busy.evidence)?.error).toContain(
        'HTTP 429: es_rejected_execution_exception: rejected execution',
      );
    });

    it('says when the size limit cut the window short', async () => {
      const out = await runProxy(config({ limit: 1 }), { ES_KEY: SECRET }, now);
      expect(proxyLog(out.evidence)?.truncated_reason).toContain('size limit (1)');
    });
  });
});

describe('ingress-nginx controller lines', () => {
  it('reads the error lines of the captured controller log and skips its access lines', () => {
    const lines = fixture('kubernetes/ingress-nginx-502.log')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const parsed = lines.map((l) => parseIngressNginxLine(l));
    expect(parsed.map((p) => p?.signature ?? null)).toEqual([
      'refused',
      null,
      'refused',
      null,
      'premature_close',
    ]);
    expect(parsed[0]?.upstream).toBe('10.36.0.1:8888');
    expect(parseIngressNginxLine(`2024-11-03T06:09:31.905114210Z stderr F ${lines[0]}`)?.signature).toBe(
      'refused',
    );
    expect(
      parseIngressNginxLine('E1103 06:09:31.123456       7 controller.go:1112] Error obtaining Endpoints'),
    ).toBeNull();
  });
});

describe('HAProxy stats, the captured CSV and Prometheus answer', () => {
  it('tells per server whether and how it fails, by column name', () => {
    const { upstreams, backends } = parseHaproxyCsv(fixture('haproxy/show-stat.captured.csv'), 'be_app');
    expect(upstreams.map((u) => [u.name, u.address, u.state, u.failure])).toEqual([
      ['app1', '127.0.0.1:18081', 'up', null],
      ['app2', '127.0.0.1:18082', 'down', 'refused'],
      ['app3', '127.0.0.1:18083', 'down', 'reset'],
    ]);
    expect(upstreams[2]?.counters.eresp).toBe(10);
    expect(backends).toEqual([
      expect.objectContaining({
        name: 'be_app',
        state: 'up',
        counters: expect.objectContaining({ hrsp_5xx: 10 }),
      }),
    ]);
    expect(backends[0]?.gauges.qmax).toBe(4);
  });

  it('reads the same from the Prometheus exporter, which names no address', () => {
    const { upstreams } = parseHaproxyMetrics(fixture('haproxy/metrics.captured-excerpt.txt'), 'be_app');
    expect(upstreams.map((u) => [u.name, u.address, u.state, u.failure])).toEqual([
      ['app1', null, 'up', null],
      ['app2', null, 'down', 'refused'],
      ['app3', null, 'down', 'reset'],
    ]);
  });

  it('a down server whose check is in progress at the second read fails as the first read said, not as an unknown error', async () => {
    const captured = fixture('haproxy/metrics.captured-excerpt.txt');
    // While a check runs, the exporter lists no finished result for that server: every state reads 0.
    const inProgress = captured.replace(
      'haproxy_server_check_status{proxy="be_app",server="app2",state="L4CON"} 1',
      'haproxy_server_check_status{proxy="be_app",server="app2",state="L4CON"} 0',
    );
    expect(inProgress).not.toBe(captured);
    const parsed = parseHaproxyMetrics(inProgress, 'be_app').upstreams.find((u) => u.name === 'app2');
    expect([parsed?.failure, parsed?.detail]).toEqual(['unhealthy', 'DOWN, check in progress']);
    let reads = 0;
    const exporter = own(
      await fakeHttp((_req, res) => {
        res.setHeader('content-type', 'text/plain; version=0.0.4');
        res.end(reads++ === 0 ? captured : inProgress);
      }),
    );
    const out = await runProxy({
      stats: { kind: 'haproxy', url: `${exporter.url}/metrics`, backend: 'be_app', sample_interval_ms: 100 },
    });
    expect(reads).toBe(2);
    const app2 = proxyLearnedTargets(out.evidence).find((t) => t.host === 'app2');
    expect([app2?.outcome, app2?.status, app2?.connect_ms]).toEqual(['refused', 'fail', null]);
    expect(app2?.error).toContain('L4CON (at the first read; DOWN, check in progress at the second)');
  });
});

describe('Caddy admin API, the captured answers', () => {
  it('marks the passive failures and reads health from the metrics', async () => {
    const admin = own(
      await fakeHttp((req, res) => {
        const passive = req.path === '/reverse_proxy/upstreams';
        res.writeHead(200, { 'content-type': passive ? 'application/json' : 'text/plain' });
        res.end(
          passive
            ? fixture('caddy/reverse-proxy-upstreams.passive-fails.captured.json')
            : fixture('caddy/metrics.passive-fails.captured-excerpt.txt'),
        );
      }),
    );
    const config = ProxyCheckSchema.parse({ stats: { kind: 'caddy', url: admin.url } }).stats!;
    const snap = await STATS_READERS.caddy({
      config,
      headers: {},
      signal: new AbortController().signal,
      timeoutMs: 2000,
    });
    expect(snap.says_how).toBe(false);
    expect(snap.upstreams.map((u) => [u.address, u.state, u.failure, u.gauges.num_requests])).toEqual([
      ['127.0.0.1:18081', 'up', null, 3],
      ['127.0.0.1:18082', 'down', 'unhealthy', 0],
      ['127.0.0.1:18083', 'down', 'unhealthy', 0],
    ]);
    // The capture's 9 requests, 2 of them failed round trips (2.6 counts those as errors, not code 502).
    expect(snap.backends).toEqual([
      { name: 'reverse_proxy', state: 'unknown', counters: { requests: 9, request_errors: 2 }, gauges: {} },
    ]);
  });
});

describe('Envoy admin, the assembled /clusters and /stats', () => {
  it('reads health flags per host and the cluster counters', () => {
    const hosts = parseEnvoyClusters(fixture('envoy/clusters.txt'), 'backend');
    expect(hosts.map((h) => [h.address, h.state, h.failure, h.detail])).toEqual([
      ['10.1.2.11:8080', 'up', null, 'healthy'],
      ['10.1.2.12:8080', 'down', 'unhealthy', '/failed_active_hc'],
      ['10.1.2.13:8080', 'down', 'unhealthy', '/failed_outlier_check'],
    ]);
    expect(hosts[1]?.counters.cx_connect_fail).toBe(37);
    const [cluster] = parseEnvoyStats(fixture('envoy/stats.txt'), 'backend');
    expect(cluster?.gauges).toEqual({ membership_healthy: 1, membership_total: 3 });
    expect(cluster?.counters.upstream_cx_connect_timeout).toBe(12);
  });
});

describe('learning the upstreams from the proxy: the verdict rules use them as targets', () => {
  let healthy: Upstream;
  beforeAll(async () => {
    healthy = await healthyUpstream();
  });
  afterAll(() => healthy.close());

  const verdictOf = (out: CheckOutput<ProxyEvidence>) =>
    decide({
      service: 'checkout-api',
      incident: null,
      results: [{ name: 'proxy', duration_ms: 1, ...out }],
      durationMs: 1,
    });

  it('Envoy: hosts failing their checks are probed; refused everywhere is upstream_down', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const envoy = own(
      await startFakeEnvoy('checkout', [
        { address: `127.0.0.1:${a}`, health_flags: '/failed_active_hc', cx_connect_fail: 12 },
        { address: `127.0.0.1:${b}`, health_flags: '/failed_active_hc', cx_connect_fail: 9 },
      ]),
    );
    const out = await runProxy({
      stats: { kind: 'envoy', url: envoy.url, backend: 'checkout', sample_interval_ms: 100 },
    });
    const learned = proxyLearnedTargets(out.evidence);
    expect(learned.map((t) => [t.port, t.outcome, t.status])).toEqual([
      [a, 'refused', 'fail'],
      [b, 'refused', 'fail'],
    ]);
    expect(envoy.requests.map((r) => r.path)).toEqual(['/clusters', '/stats', '/clusters', '/stats']);
    expect(verdictOf(out).cause).toBe('upstream_down');
  });

  it('Traefik: one server down among healthy ones is upstream_partial', async () => {
    const dead = await freePort();
    const traefik = own(
      await startFakeTraefik('checkout@file', [
        { url: `http://127.0.0.1:${healthy.port}`, up: true },
        { url: `http://127.0.0.1:${dead}`, up: false },
      ]),
    );
    traefik.answered('checkout@file', 502, 4);
    const out = await runProxy({
      stats: {
        kind: 'traefik',
        url: `${traefik.url}/metrics`,
        backend: 'checkout@file',
        sample_interval_ms: 100,
      },
    });
    const stats = proxyStats(out.evidence)!;
    expect(stats.error).toBeNull();
    expect(stats.backends[0]?.counters.hrsp_5xx).toBe(4);
    expect(stats.upstreams.map((t) => [t.port, t.outcome])).toEqual([
      [healthy.port, 'ok'],
      [dead, 'refused'],
    ]);
    const v = verdictOf(out);
    expect(v.cause).toBe('upstream_partial');
    expect(v.actions[0]).toContain(`127.0.0.1:${dead}`);
  });

  it('a proxy that marks an upstream failed while it answers gatewatch is not called dead', async () => {
    const envoy = own(
      await startFakeEnvoy('checkout', [
        { address: `127.0.0.1:${healthy.port}`, health_flags: '/failed_outlier_check' },
      ]),
    );
    const out = await runProxy({ stats: { kind: 'envoy', url: envoy.url, sample_interval_ms: 100 } });
    const [t] = proxyLearnedTargets(out.evidence);
    expect(t?.status).toBe('warn');
    expect(t?.error).toContain('yet it answers');
    expect(verdictOf(out).cause).not.toBe('upstream_down');
  });

  it('HAProxy: a server that passes its health check but drops real requests is caught by the counters read twice', async () => {
    // Health checks get 200; every other request is dropped before an answer: only eresp rising tells.
    const flaky = createServer((req, res) => (req.url === '/healthz' ? res.end('ok') : req.socket.destroy()));
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    own({ close: () => new Promise<void>((r) => flaky.close(() => r())) });
    const port = (flaky.address() as AddressInfo).port;
    const haproxy = await startHaproxy({ servers: [{ name: 'app1', address: `127.0.0.1:${port}` }] });
    own({ close: () => haproxy.stop() });
    await waitForStats(
      haproxy.statsUrl,
      (csv) => serverStatus(csv, 'be_app', 'app1')?.startsWith('UP') === true,
      'app1 UP',
    );
    const out = await runProxy({
      url: `${haproxy.url}/orders`,
      samples: 5,
      stats: {
        kind: 'haproxy',
        url: `${haproxy.statsUrl}/stats;csv`,
        backend: 'be_app',
        sample_interval_ms: 500,
      },
    });
    const [t] = proxyLearnedTargets(out.evidence);
    expect(t?.proxy_view.state).toBe('up');
    expect(t?.proxy_view.rates.eresp).toBeGreaterThan(0);
    expect([t?.outcome, t?.status]).toEqual(['reset', 'fail']);
    expect(verdictOf(out).cause).toBe('upstream_crash');
  });

  it('stats that cannot be read are the check’s error, with the reason', async () => {
    const port = await freePort();
    const out = await runProxy({ stats: { kind: 'haproxy', url: `http://127.0.0.1:${port}/stats;csv` } });
    expect(out.status).toBe('error');
    expect(proxyStats(out.evidence)?.error).toBe('haproxy stats unreadable: connection refused');
  });
});

describe('the playbook shape (contract: "Evidence from elsewhere")', () => {
  const parse = (error_log: unknown) => ProxyCheckSchema.safeParse({ error_log });
  it('takes path alone as a file, and exactly one source', () => {
    expect(parse({ path: '/var/log/nginx/error.log' }).success).toBe(true);
    expect(parse({ source: 'loki', loki: { url: 'http://loki:3100', query: '{job="x"}' } }).success).toBe(
      true,
    );
    const none = parse({ source: 'loki' });
    expect(none.error?.issues[0]?.message).toBe('source loki needs loki');
    const two = parse({ path: '/x', source: 'loki', loki: { url: 'http://loki:3100', query: '{job="x"}' } });
    expect(two.error?.issues[0]?.message).toBe('exactly one source: path given, but source is loki');
    expect(parse({ loki: { url: 'http://loki:3100', query: '{job="x"}' } }).success).toBe(false);
  });

  it('wants names of variables for secrets, and both halves of Basic auth', () => {
    const stats = (s: unknown) => ProxyCheckSchema.safeParse({ stats: s });
    expect(stats({ kind: 'haproxy', url: 'http://edge:8404/stats;csv', backend: 'be' }).success).toBe(true);
    expect(
      stats({ kind: 'haproxy', url: 'http://edge:8404/stats;csv', password_env: 'not a name' }).success,
    ).toBe(false);
    expect(
      stats({ kind: 'haproxy', url: 'http://edge:8404/stats;csv', username: 'gw' }).error?.issues[0]?.message,
    ).toBe('HTTP Basic needs both username and password_env');
    expect(stats({ kind: 'nginx', url: 'http://edge/' }).success).toBe(false);
  });
});
