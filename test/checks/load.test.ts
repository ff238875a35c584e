import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadEvidence, loadCheck } from '../../src/checks/load/check.js';
import { parseExposition } from '../../src/checks/load/exposition.js';
import { DEFAULT_QUERIES, instantQuery } from '../../src/checks/load/prometheus.js';
import type { CheckContext, CheckOutput } from '../../src/checks/types.js';
import { silentLogger } from '../../src/log.js';
import { ChecksSchema, LoadCheckSchema } from '../../src/playbooks/schema.js';
import { type MetricsApp, startMetricsApp } from '../helpers/metrics-app.js';
import { type PrivateNginx, startNginx } from '../helpers/nginx.js';
import { waitFor } from '../helpers/ports.js';
import { type RunningProcess, startNodeExporter, startPrometheus } from '../helpers/prometheus.js';
import { refusingUpstream } from '../helpers/upstreams.js';
import { startApp } from '../scenarios/world.js';

function context(): CheckContext {
  return {
    service: 'checkout-api',
    signal: new AbortController().signal,
    log: silentLogger(),
    env: {},
    now: Date.now,
    onsetAt: Date.now(),
    timeoutMs: 10_000,
  };
}

function runLoad(config: unknown): Promise<CheckOutput<LoadEvidence>> {
  return loadCheck.run(LoadCheckSchema.parse(config), context());
}

describe('load from Prometheus and node_exporter', () => {
  let node: RunningProcess;
  let prometheus: RunningProcess;
  const instance = () => `127.0.0.1:${node.port}`;

  beforeAll(async () => {
    node = await startNodeExporter();
    // The same exporter under a second name: to Prometheus another node of its fleet, not this service's.
    prometheus = await startPrometheus([instance(), `localhost:${node.port}`]);
    // A rate needs two scrapes: wait until the default CPU expression has an answer.
    const signal = new AbortController().signal;
    await waitFor(
      async () =>
        (await instantQuery(prometheus.url, DEFAULT_QUERIES.cpu, { timeoutMs: 2000, signal })).length === 2,
      30_000,
      'two scrapes of node_exporter under both names',
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    await node?.stop();
  });

  it('gives per-instance cpu, memory and load from instant queries with the default expressions', async () => {
    const out = await runLoad({
      prometheus: prometheus.url,
      selector: 'instance="127.0.0.1:' + node.port + '"',
      thresholds: { cpu: 1, memory: 1 },
    });
    expect(out.evidence).toHaveLength(1);
    const [e] = out.evidence;
    expect(e).toMatchObject({
      instance: instance(),
      source: 'prometheus',
      endpoint: prometheus.url,
      error: null,
    });
    expect(e?.cpu).toBeGreaterThanOrEqual(0);
    expect(e?.cpu).toBeLessThanOrEqual(1);
    expect(e?.memory).toBeGreaterThan(0);
    expect(e?.memory).toBeLessThan(1);
    expect(e?.load).toBeGreaterThanOrEqual(0);
    expect(Number.isInteger(e?.cpu_cores)).toBe(true);
    expect(e?.cpu_cores).toBeGreaterThanOrEqual(1);
    expect(e?.over).toEqual([]);
    // A shared test machine may run hot: load above 2 per CPU is a warning, never a failure.
    expect(out.status).toBe((e?.load ?? 0) > 2 ? 'warn' : 'ok');
  });

  it('without a selector every node Prometheus scrapes is counted; the playbook scopes it to the upstream hosts', async () => {
    const unscoped = await runLoad({ prometheus: prometheus.url });
    expect(unscoped.evidence.map((e) => e.instance).sort()).toEqual(
      [`127.0.0.1:${node.port}`, `localhost:${node.port}`].sort(),
    );
    const checks = ChecksSchema.parse({
      upstream: { targets: ['http://127.0.0.1:8080/healthz'] },
      load: { prometheus: prometheus.url },
    });
    expect(checks.load?.selector).toBe(String.raw`instance=~"(127\\.0\\.0\\.1)(:[0-9]+)?"`);
    const scoped = await loadCheck.run(checks.load!, context());
    expect(scoped.evidence.map((e) => e.instance)).toEqual([`127.0.0.1:${node.port}`]);
  });

  it('uses a playbook query in place of the default and fails the instance over its threshold', async () => {
    const out = await runLoad({
      prometheus: prometheus.url,
      selector: 'instance="127.0.0.1:' + node.port + '"',
      queries: { cpu: 'node_load1{$selector} * 0 + 0.97' },
      thresholds: { cpu: 0.9, memory: 1 },
    });
    expect(out.status).toBe('fail');
    expect(out.evidence[0]).toMatchObject({ instance: instance(), cpu: 0.97, over: ['cpu'], status: 'fail' });
    expect(out.summary).toContain(`${instance()} cpu 97% > 90%`);
  });

  it('reports a query Prometheus rejects as an error, with its message', async () => {
    const out = await runLoad({ prometheus: prometheus.url, queries: { memory: 'sum(' } });
    expect(out.status).toBe('error');
    expect(out.evidence[0]?.error).toMatch(/bad_data/);
  });

  it('reads node_exporter directly: host CPU from two scrapes, memory and load per CPU', async () => {
    const out = await runLoad({ scrape: [`${node.url}/metrics`], sample_interval_ms: 500 });
    const [e] = out.evidence;
    expect(e).toMatchObject({ instance: instance(), source: 'node_exporter', error: null });
    expect(e?.cpu).toBeGreaterThanOrEqual(0);
    expect(e?.cpu).toBeLessThanOrEqual(1);
    expect(e?.memory).toBeGreaterThan(0);
    expect(e?.memory).toBeLessThan(1);
    expect(e?.memory_bytes).toBeGreaterThan(0);
    expect(e?.cpu_cores).toBeGreaterThanOrEqual(1);
  });
});

describe("load from an app's own process metrics", () => {
  let busy: MetricsApp;
  let idle: MetricsApp;
  let looping: MetricsApp;
  beforeAll(async () => {
    [busy, idle, looping] = await Promise.all([
      startMetricsApp('busy'),
      startMetricsApp('idle'),
      startMetricsApp('loop'),
    ]);
  });
  afterAll(async () => {
    await Promise.all([busy?.stop(), idle?.stop(), looping?.stop()]);
  });

  it('flags a process whose event loop never idles as CPU-bound over its cpu threshold, whatever share of a core a busy machine gives it, and an idle one low', async () => {
    const out = await runLoad({
      scrape: [looping.metricsUrl, idle.metricsUrl],
      cores: 1,
      sample_interval_ms: 1000,
      thresholds: { cpu: 0.85, memory: 0.9, loop_lag_ms: 200 },
    });
    const [hot, cool] = out.evidence;
    // On an idle machine it gets a whole core (CPU over 85%); on a loaded one less, but its loop
    // still lags by its 300 ms stretches of work: flagged either way, and named CPU-bound.
    expect(hot).toMatchObject({
      source: 'process',
      status: 'fail',
      over: ['cpu'],
      cpu_cores: 1,
      error: null,
    });
    expect(hot?.loop_lag_s).toBeGreaterThanOrEqual(0.2);
    expect(out.summary).toMatch(/cpu-bound \(event loop lag \d+ ms at \d+% CPU\)/);
    // The CPU figure itself is measured, not assumed: real work, far above the idle process, never over a core.
    expect(hot?.cpu).toBeGreaterThan(0.1);
    expect(hot?.cpu).toBeGreaterThan(3 * (cool?.cpu ?? 1));
    expect(hot?.cpu).toBeLessThan(1.3);
    expect(cool).toMatchObject({ source: 'process', status: 'ok', over: [], error: null });
    expect(cool?.cpu).toBeLessThan(0.3);
    expect(cool?.loop_lag_s).toBeLessThan(0.2);
    expect(out.status).toBe('fail');
  });

  it('gives process memory as a fraction of memory_limit_bytes, and cpu as a fraction of `cores`', async () => {
    const limit = 16 * 1024 * 1024;
    const common = { scrape: [busy.metricsUrl], sample_interval_ms: 1000 };
    // Both read the same process over the same second: only the capacity differs.
    const [oneCore, twoCores] = await Promise.all([
      runLoad({ ...common, cores: 1 }),
      runLoad({ ...common, cores: 2, memory_limit_bytes: limit, thresholds: { cpu: 0.9, memory: 0.9 } }),
    ]);
    const [e] = twoCores.evidence;
    expect(e?.memory_bytes).toBeGreaterThan(limit);
    expect(e?.memory).toBeCloseTo((e?.memory_bytes ?? 0) / limit, 2);
    expect(e?.over).toEqual(['memory']);
    expect(e?.cpu_cores).toBe(2);
    expect(e?.memory_limit_bytes).toBe(limit);
    expect(oneCore.evidence[0]?.memory).toBeNull();
    expect(oneCore.evidence[0]?.memory_limit_bytes).toBeNull();
    const ratio = (oneCore.evidence[0]?.cpu ?? 0) / (e?.cpu ?? 1);
    expect(ratio).toBeGreaterThan(1.6);
    expect(ratio).toBeLessThan(2.4);
  });

  it('says how long the process has run (process_start_time_seconds against the wall clock)', async () => {
    const startedBy = (Date.now() - performance.now()) / 1000;
    const out = await runLoad({ scrape: [idle.metricsUrl], sample_interval_ms: 200 });
    const uptime = out.evidence[0]?.uptime_s ?? -1;
    // Started by this test file's beforeAll: more than nothing, less than this worker has run.
    expect(uptime).toBeGreaterThan(0);
    expect(uptime).toBeLessThanOrEqual(Date.now() / 1000 - startedBy + 1);
  });

  it('reports an endpoint that refuses as an error row, not as idle', async () => {
    const dead = await refusingUpstream();
    const out = await runLoad({ scrape: [`http://127.0.0.1:${dead.port}/metrics`], sample_interval_ms: 100 });
    expect(out.status).toBe('error');
    expect(out.evidence[0]).toMatchObject({ instance: `127.0.0.1:${dead.port}`, cpu: null, status: 'error' });
    expect(out.evidence[0]?.error).toMatch(/ECONNREFUSED|connect/i);
  });
});

describe('load from nginx stub_status', () => {
  let nginx: PrivateNginx;
  beforeAll(async () => {
    nginx = await startNginx({
      http: ({ port }) => `
  server {
    listen 127.0.0.1:${port};
    location = /nginx_status { stub_status; }
    location / { return 200 "ok"; }
  }`,
    });
  });
  afterAll(() => nginx?.stop());

  it('reads connections and the request rate while traffic flows', async () => {
    let done = false;
    const traffic = (async () => {
      let n = 0;
      while (!done) {
        await (await fetch(`${nginx.url}/`)).text();
        n++;
      }
      return n;
    })();
    const out = await runLoad({ stub_status: [`${nginx.url}/nginx_status`], sample_interval_ms: 500 });
    done = true;
    const sent = await traffic;
    const [e] = out.evidence;
    expect(e).toMatchObject({
      instance: `127.0.0.1:${nginx.port}`,
      source: 'stub_status',
      status: 'ok',
      cpu: null,
    });
    expect(e?.connections?.active).toBeGreaterThanOrEqual(1);
    expect(e?.connections?.writing).toBeGreaterThanOrEqual(1);
    expect(e?.connections?.dropped).toBe(0);
    expect(sent).toBeGreaterThan(5);
    expect(e?.connections?.requests_per_s).toBeGreaterThan(5);
  });

  it('says so when the page is not stub_status', async () => {
    const out = await runLoad({ stub_status: [`${nginx.url}/`], sample_interval_ms: 100 });
    expect(out.evidence[0]?.error).toBe('not an nginx stub_status page');
  });
});

describe('text exposition parsing', () => {
  it('reads labels with escapes, special values, timestamps, and skips comments and junk', () => {
    const text = [
      '# HELP process_cpu_seconds_total Total user and system CPU time.',
      '# TYPE process_cpu_seconds_total counter',
      'process_cpu_seconds_total 12.5 1700000000000',
      'node_cpu_seconds_total{cpu="0",mode="idle"} 100',
      'weird{path="a\\"b\\\\c\\nd", le="+Inf",} +Inf',
      'gauge_nan NaN',
      'broken{a="x" 1',
      'no_value',
      '# EOF',
    ].join('\n');
    expect(parseExposition(text)).toEqual([
      { name: 'process_cpu_seconds_total', labels: {}, value: 12.5 },
      { name: 'node_cpu_seconds_total', labels: { cpu: '0', mode: 'idle' }, value: 100 },
      { name: 'weird', labels: { path: 'a"b\\c\nd', le: '+Inf' }, value: Number.POSITIVE_INFINITY },
      { name: 'gauge_nan', labels: {}, value: Number.NaN },
    ]);
  });
});

describe('a metrics endpoint that hangs past the playbook timeout_ms', () => {
  it('is evidence, not a read error: the row fails as busy or hung, and the check stops waiting for it', async () => {
    // A Node service burning 5 s on its one thread per request, one request in flight:
    // its /metrics waits behind it, as a saturated or stuck process's does.
    const app = await startApp('busy', '5000');
    try {
      fetch(app.url).catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
      const out = await runLoad({ scrape: [app.metricsUrl], sample_interval_ms: 200, timeout_ms: 400 });
      const [row] = out.evidence;
      expect(row).toMatchObject({
        source: 'process',
        status: 'fail',
        unanswered_ms: 400,
        error: 'no answer within 400 ms: busy or hung',
        cpu: null,
      });
      expect(out.status).toBe('fail');
      // Without timeout_ms the same hang is an ordinary read error, as before.
      const plain = await runLoad({ scrape: [app.metricsUrl], sample_interval_ms: 200 });
      expect(plain.evidence[0]?.unanswered_ms).toBeUndefined();
    } finally {
      await app.stop();
    }
  });
});
