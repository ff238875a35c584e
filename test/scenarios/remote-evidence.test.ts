// Worlds where gatewatch runs away from the proxy: no file of the proxy's log is
// given (a log store holds it), and with stats the upstream targets are not given
// either (`proxy.url` + `proxy.stats` only): the proxy itself names its upstreams.
// HAProxy and Caddy are real (Debian's); Loki and Elasticsearch are HTTP fakes fed
// with the lines a real nginx writes while the test breaks its upstream.
import { describe, expect, it } from 'vitest';
import { startCaddy } from '../helpers/caddy.js';
import { startFakeElasticsearch } from '../helpers/fake-elasticsearch.js';
import { startFakeLoki } from '../helpers/fake-loki.js';
import { type HaproxyServer, serverStatus, startHaproxy, waitForStats } from '../helpers/haproxy.js';
import { startNginx } from '../helpers/nginx.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { resettingUpstream } from '../helpers/upstreams.js';
import { check, drive, scenarioSuite, startApp } from './world.js';

const { table, pb, later } = scenarioSuite('scenarios: evidence from where proxies run');

const LOKI_TOKEN = 'loki-gateway-t0ken-never-shown';
const ES_API_KEY = 'ZXMtYXBpLWtleS1uZXZlci1zaG93bg==';
const STATS_PASSWORD = 'haproxy-stats-pw-never-shown';

/** Requests through a proxy until `n` of them failed with a gateway status: the log then has lines. */
async function breakThrough(url: string, n: number) {
  let failed = 0;
  await waitFor(
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      await res.arrayBuffer();
      if (res.status >= 502 && res.status <= 504) failed++;
      return failed >= n;
    },
    15_000,
    `${n} gateway errors through ${url}`,
  );
}

/** Ships a log to a store every 100 ms while the check runs, as Promtail or Filebeat would. */
function keepShipping(ship: () => unknown) {
  const t = setInterval(ship, 100);
  return { stop: () => clearInterval(t) };
}

const proxySampling = (url: string) => ({ url, samples: 5, timeout_ms: 2000 });

const statusIs = (server: string, prefix: string) => (csv: string) =>
  serverStatus(csv, 'be_app', server)?.startsWith(prefix) === true;
const bothDown = (csv: string) => statusIs('app1', 'DOWN')(csv) && statusIs('app2', 'DOWN')(csv);

/**
 * A real HAProxy in front of `servers`, its health checks settled (`ready` on its
 * stats CSV), and a playbook that gives gatewatch only its URL and its stats.
 */
async function haproxyStatsWorld(
  service: string,
  servers: HaproxyServer[],
  ready: (csv: string) => boolean,
  opts: {
    statsPath?: string;
    auth?: { username: string; password: string; env: string };
    /** More checks beside the proxy's (a load check of the servers, say). */
    checks?: Record<string, unknown>;
    /** The path of HAProxy's health checks (`/healthz` by default). */
    checkPath?: string;
  } = {},
) {
  const { auth } = opts;
  const haproxy = later(
    await startHaproxy({
      servers,
      statsAuth: auth && `${auth.username}:${auth.password}`,
      checkPath: opts.checkPath,
    }),
    (h) => h.stop(),
  );
  const basic = auth && `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  await waitForStats(
    haproxy.statsUrl,
    ready,
    `${service}: health checks settled`,
    basic ? { authorization: basic } : {},
  );
  pb.write(service, {
    proxy: {
      ...proxySampling(`${haproxy.url}/healthz`),
      stats: {
        kind: 'haproxy',
        url: `${haproxy.statsUrl}${opts.statsPath ?? '/stats;csv'}`,
        backend: 'be_app',
        ...(auth ? { username: auth.username, password_env: auth.env } : {}),
      },
    },
    ...opts.checks,
  });
  return haproxy;
}

const at = (name: string, port: number): HaproxyServer => ({ name, address: `127.0.0.1:${port}` });

describe('HAProxy stats, no targets given', () => {
  it('every server refuses: upstream_down, the dead addresses learned from the stats CSV', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    await haproxyStatsWorld('haproxy-down', [at('app1', p1), at('app2', p2)], bothDown, {
      auth: { username: 'gw', password: STATS_PASSWORD, env: 'EDGE_STATS_PASSWORD' },
    });
    const v = await check('haproxy-down', pb.dir, { EDGE_STATS_PASSWORD: STATS_PASSWORD });
    table.judge('haproxy stats csv: all refuse', v, {
      cause: 'upstream_down',
      recommendation: 'fix',
      trigger: null,
    });
    expect(v.summary).toContain(`127.0.0.1:${p1}`);
    expect(v.summary).toContain(`127.0.0.1:${p2}`);
    expect(JSON.stringify(v)).not.toContain(STATS_PASSWORD);
  });

  it('every server at its maxconn with requests queued, the servers idle: unknown, the queue and both readings of it stated', async () => {
    const [a1, a2] = [
      later(await startApp('slow', '300'), (a) => a.stop()),
      later(await startApp('slow', '300'), (a) => a.stop()),
    ];
    const limited = (name: string, port: number): HaproxyServer => ({
      ...at(name, port),
      options: 'check inter 200 fall 1 rise 1 maxconn 1',
    });
    const haproxy = await haproxyStatsWorld(
      'haproxy-queue',
      [limited('app1', a1.port), limited('app2', a2.port)],
      (csv) => statusIs('app1', 'UP')(csv) && statusIs('app2', 'UP')(csv),
      {
        checks: { load: { scrape: [a1.metricsUrl, a2.metricsUrl], sample_interval_ms: 300 } },
        // The slow app answers its metrics at once: health checks pass, the servers stay UP.
        checkPath: '/metrics',
      },
    );
    // Eight users at once against two servers that may each take one request at a time.
    later(drive(`${haproxy.url}/orders`, 8), (t) => t.stop());
    await waitForStats(
      haproxy.statsUrl,
      (csv) => Number(/^be_app,BACKEND,(\d+),/m.exec(csv)?.[1] ?? 0) > 0,
      'requests queued in be_app',
    );
    const v = await check('haproxy-queue', pb.dir);
    table.judge('haproxy: every server at maxconn, idle', v, {
      cause: 'unknown',
      recommendation: 'investigate',
      trigger: null,
    });
    expect(v.summary).toContain('All 2 servers behind the proxy are at their connection limit (maxconn 1)');
    expect(v.summary).toMatch(/the servers' CPU is \d+%/);
    expect(v.actions.join(' ')).toContain('raise `maxconn`');
  });

  it('one of two servers dead: upstream_partial naming the dead one', async () => {
    const app = later(await startApp('ok'), (a) => a.stop());
    const dead = await freePort();
    await haproxyStatsWorld(
      'haproxy-partial',
      [at('app1', app.port), at('app2', dead)],
      (csv) => statusIs('app1', 'UP')(csv) && statusIs('app2', 'DOWN')(csv),
    );
    const v = await check('haproxy-partial', pb.dir);
    table.judge('haproxy stats csv: one of two dead', v, {
      cause: 'upstream_partial',
      recommendation: 'fix',
      trigger: null,
    });
    expect(v.actions[0]).toContain(`127.0.0.1:${dead}`);
    expect(v.actions.join(' ')).not.toContain(`127.0.0.1:${app.port}`);
  });

  it('servers accept and reset: upstream_crash', async () => {
    const [r1, r2] = [await resettingUpstream(), await resettingUpstream()];
    later(r1, (r) => r.close());
    later(r2, (r) => r.close());
    await haproxyStatsWorld('haproxy-reset', [at('app1', r1.port), at('app2', r2.port)], bothDown);
    const v = await check('haproxy-reset', pb.dir);
    table.judge('haproxy stats csv: all reset', v, {
      cause: 'upstream_crash',
      recommendation: 'fix',
      trigger: null,
    });
  });

  it('the Prometheus endpoint instead of the CSV: every server refuses, upstream_down', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    await haproxyStatsWorld('haproxy-prom', [at('app1', p1), at('app2', p2)], bothDown, {
      statsPath: '/metrics',
    });
    const v = await check('haproxy-prom', pb.dir);
    table.judge('haproxy prometheus: all refuse', v, {
      cause: 'upstream_down',
      recommendation: 'fix',
      trigger: null,
    });
  });
});

describe('Caddy admin API, no targets given', () => {
  it('every upstream refuses: upstream_down, learned from /reverse_proxy/upstreams', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const caddy = later(await startCaddy({ upstreams: [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`] }), (c) =>
      c.stop(),
    );
    pb.write('caddy-down', {
      proxy: { ...proxySampling(`${caddy.url}/healthz`), stats: { kind: 'caddy', url: caddy.adminUrl } },
    });
    const v = await check('caddy-down', pb.dir);
    table.judge('caddy admin: all refuse', v, {
      cause: 'upstream_down',
      recommendation: 'fix',
      trigger: null,
    });
    expect(v.summary).toContain(`127.0.0.1:${p1}`);
  });

  it('one of two upstreams dead and still sent traffic: upstream_partial', async () => {
    const app = later(await startApp('ok'), (a) => a.stop());
    const dead = await freePort();
    const caddy = later(
      await startCaddy({ upstreams: [`127.0.0.1:${app.port}`, `127.0.0.1:${dead}`] }),
      (c) => c.stop(),
    );
    pb.write('caddy-partial', {
      proxy: { ...proxySampling(`${caddy.url}/healthz`), stats: { kind: 'caddy', url: caddy.adminUrl } },
    });
    const v = await check('caddy-partial', pb.dir);
    table.judge('caddy admin: one of two dead', v, {
      cause: 'upstream_partial',
      recommendation: 'fix',
      trigger: null,
    });
    expect(v.actions[0]).toContain(`127.0.0.1:${dead}`);
  });
});

describe('error log from a log store, no file', () => {
  it('Loki: nginx sends to a wrong port while the target is healthy: proxy_misrouted', async () => {
    const app = later(await startApp('ok'), (a) => a.stop());
    const wrong = await freePort();
    const nginx = later(
      await startNginx({
        http: ({ port }) =>
          // Another host than the target's: the same host on another port could be a health port that answers
          // while the serving one is down, which the verdict must call a conflict (issue 12).
          `server { listen 127.0.0.1:${port}; location / { proxy_connect_timeout 1s; proxy_pass http://127.0.0.2:${wrong}; } }`,
      }),
      (n) => n.stop(),
    );
    const loki = later(await startFakeLoki({ token: LOKI_TOKEN, tenant: 'edge' }), (l) => l.close());
    await breakThrough(`${nginx.url}/healthz`, 3);
    const labels = { job: 'nginx-edge', host: 'edge-01', filename: '/var/log/nginx/error.log' };
    await waitFor(() => loki.ship(nginx.errorLog, labels) > 0, 5000, 'nginx error lines shipped');
    later(
      keepShipping(() => loki.ship(nginx.errorLog, labels)),
      (s) => s.stop(),
    );
    pb.write('loki-misrouted', {
      proxy: {
        ...proxySampling(`${nginx.url}/healthz`),
        error_log: {
          source: 'loki',
          format: 'nginx',
          loki: {
            url: loki.url,
            query: '{job="nginx-edge"} |= "upstream"',
            token_env: 'LOKI_TOKEN',
            tenant: 'edge',
          },
        },
      },
      upstream: { targets: [app.url], probes: 2, timeout_ms: 800 },
    });
    const v = await check('loki-misrouted', pb.dir, { LOKI_TOKEN });
    table.judge('loki: misrouted', v, { cause: 'proxy_misrouted', recommendation: 'fix', trigger: null });
    expect(v.summary).toContain(`127.0.0.2:${wrong}`);
    expect(JSON.stringify(v)).not.toContain(LOKI_TOKEN);
    const asked = loki.requests.at(-1);
    expect(asked?.headers['x-scope-orgid']).toBe('edge');
    expect(asked?.query.get('direction')).toBe('backward');
  });

  it('Elasticsearch: the upstream resets, no targets given: upstream_crash from the stored lines', async () => {
    const reset = later(await resettingUpstream(), (r) => r.close());
    const nginx = later(
      await startNginx({
        http: ({ port }) =>
          `server { listen 127.0.0.1:${port}; location / { proxy_pass http://127.0.0.1:${reset.port}; } }`,
      }),
      (n) => n.stop(),
    );
    const es = later(await startFakeElasticsearch({ apiKey: ES_API_KEY }), (e) => e.close());
    await breakThrough(`${nginx.url}/checkout`, 3);
    const index = 'logs-nginx.error-default';
    await waitFor(() => es.shipNginxErrors(nginx.errorLog, index) > 0, 5000, 'nginx error lines indexed');
    later(
      keepShipping(() => es.shipNginxErrors(nginx.errorLog, index)),
      (s) => s.stop(),
    );
    pb.write('es-crash', {
      proxy: {
        ...proxySampling(`${nginx.url}/checkout`),
        error_log: {
          source: 'elasticsearch',
          format: 'nginx',
          elasticsearch: {
            url: es.url,
            index: 'logs-nginx.error-*',
            query: 'event.dataset:nginx.error',
            api_key_env: 'ES_API_KEY',
          },
        },
      },
    });
    const v = await check('es-crash', pb.dir, { ES_API_KEY });
    table.judge('elasticsearch: upstream resets', v, {
      cause: 'upstream_crash',
      recommendation: 'fix',
      trigger: null,
    });
    expect(v.summary).toContain(`127.0.0.1:${reset.port}`);
    expect(JSON.stringify(v)).not.toContain(ES_API_KEY);
  });

  it('Loki with HAProxy’s traffic log: the upstream answers too late, upstream_timeout', async () => {
    const slow = later(await startApp('slow', '3000'), (a) => a.stop());
    // No health check: HAProxy keeps sending, and its 1 s server timeout answers 504 (sH--).
    const haproxy = later(await startHaproxy({ servers: [{ ...at('app1', slow.port), options: '' }] }), (h) =>
      h.stop(),
    );
    const loki = later(await startFakeLoki(), (l) => l.close());
    await breakThrough(`${haproxy.url}/orders`, 2);
    const labels = { job: 'haproxy-edge', host: 'edge-02' };
    await waitFor(() => loki.ship(haproxy.trafficLog, labels) > 0, 5000, 'haproxy traffic lines shipped');
    later(
      keepShipping(() => loki.ship(haproxy.trafficLog, labels)),
      (s) => s.stop(),
    );
    pb.write('loki-haproxy-timeout', {
      proxy: {
        ...proxySampling(`${haproxy.url}/orders`),
        error_log: {
          source: 'loki',
          format: 'haproxy',
          loki: { url: loki.url, query: '{job="haproxy-edge"}' },
        },
      },
    });
    const v = await check('loki-haproxy-timeout', pb.dir);
    table.judge('loki: haproxy lines, upstream slow', v, {
      cause: 'upstream_timeout',
      recommendation: 'fix',
      trigger: null,
    });
  });
});
