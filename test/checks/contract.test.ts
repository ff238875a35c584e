import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/checks/registry.js';
import { runChecks } from '../../src/checks/runner.js';
import type { ChangeEventReader, CheckResult } from '../../src/checks/types.js';
import { silentLogger } from '../../src/log.js';
import type { CheckName } from '../../src/playbooks/schema.js';
import { ChangeEventStore } from '../../src/store/change-events.js';
import { type PrivateCaddy, startCaddy } from '../helpers/caddy.js';
import { type FakeElasticsearch, startFakeElasticsearch } from '../helpers/fake-elasticsearch.js';
import { type FakeEnvoy, startFakeEnvoy } from '../helpers/fake-envoy.js';
import {
  type FakeKubeApiServer,
  fixtureItems,
  startFakeKubeApiServer,
} from '../helpers/fake-kube-apiserver.js';
import { type FakeLoki, startFakeLoki } from '../helpers/fake-loki.js';
import { type FakeTraefik, startFakeTraefik } from '../helpers/fake-traefik.js';
import { playbook } from '../helpers/gatewatch.js';
import { type PrivateHaproxy, startHaproxy } from '../helpers/haproxy.js';
import { waitFor } from '../helpers/ports.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { hangingUpstream, healthyUpstream, type Upstream } from '../helpers/upstreams.js';

/**
 * One suite over every registered check: the result has the contract's shape,
 * the check's timeout and an abort from outside are honoured, and the secret
 * held in the environment never appears in what the check reports.
 */
const PASSWORD = 'contract-s3cret-pw';
const STATUSES = ['ok', 'warn', 'fail', 'error', 'skipped'];

/** A change-event reader whose Redis never answers: a fault no real store can be made to show on demand. */
const neverAnswers: ChangeEventReader = { recent: () => new Promise(() => {}) };

describe('every check honours the Check contract', () => {
  let redis: PrivateRedis;
  let fine: Upstream;
  let hang: Awaited<ReturnType<typeof hangingUpstream>>;
  let metrics: Server;
  let metricsUrl: string;
  let repo: string;
  let store: ChangeEventStore;
  let storeRedis: Redis;
  let kube: FakeKubeApiServer;
  const env: Record<string, string> = {};
  // The proxy check's remote sources: each needs the secret, and none may show it.
  let loki: FakeLoki;
  let es: FakeElasticsearch;
  let haproxy: PrivateHaproxy;
  let caddy: PrivateCaddy;
  let envoy: FakeEnvoy;
  let traefik: FakeTraefik;

  beforeAll(async () => {
    redis = await startRedis();
    await redis.client().config('SET', 'requirepass', PASSWORD);
    [fine, hang] = await Promise.all([healthyUpstream(), hangingUpstream()]);
    let cpu = 1;
    metrics = createServer((_, res) => {
      cpu += 0.01;
      res.end(
        `# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ${cpu}\nprocess_resident_memory_bytes 52428800\n`,
      );
    });
    await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', r));
    metricsUrl = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}/metrics`;
    repo = mkdtempSync(join(tmpdir(), 'gw-contract-git-'));
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', repo, ...args], {
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 'a',
          GIT_AUTHOR_EMAIL: 'a@x',
          GIT_COMMITTER_NAME: 'a',
          GIT_COMMITTER_EMAIL: 'a@x',
        },
      });
    git('init', '-q');
    writeFileSync(join(repo, 'app.conf'), 'listen 80;\n');
    git('add', '.');
    git('commit', '-qm', 'initial');
    env.CONTRACT_DB_URL = `redis://:${PASSWORD}@127.0.0.1:${redis.port}/0`;
    env.CONTRACT_HANG_DB_URL = `postgres://app:${PASSWORD}@127.0.0.1:${hang.port}/app`;
    env.CONTRACT_SECRET = PASSWORD;
    const line = `${new Date().getFullYear()}/01/01 00:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:${fine.port}/", host: "edge"`;
    [loki, es, haproxy, caddy, envoy, traefik] = await Promise.all([
      startFakeLoki({ token: PASSWORD, tenant: 'contract' }),
      startFakeElasticsearch({ apiKey: PASSWORD }),
      startHaproxy({
        servers: [{ name: 'app1', address: `127.0.0.1:${fine.port}` }],
        statsAuth: `gw:${PASSWORD}`,
      }),
      startCaddy({ upstreams: [`127.0.0.1:${fine.port}`] }),
      startFakeEnvoy('backend', [
        { address: `127.0.0.1:${fine.port}`, health_flags: 'healthy', rq_total: 3 },
      ]),
      startFakeTraefik('app@file', [{ url: `http://127.0.0.1:${fine.port}`, up: true }]),
    ]);
    loki.push({ job: 'nginx' }, [line]);
    es.index('logs-nginx.error-default', { '@timestamp': new Date().toISOString(), message: line });
    storeRedis = new Redis(redis.port, '127.0.0.1', { password: PASSWORD });
    store = new ChangeEventStore(storeRedis, '{contract}');
    // The API server's token is the secret that must not leak from the kubernetes check.
    kube = await startFakeKubeApiServer({ token: PASSWORD });
    kube.add(...fixtureItems('endpointslice-list.json'));
    env.CONTRACT_KUBECONFIG = kube.kubeconfig(repo);
    writeFileSync(
      join(repo, 'hanging-kubeconfig.yaml'),
      `apiVersion: v1\nkind: Config\ncurrent-context: hang\nclusters: [{name: hang, cluster: {server: "${new URL(hang.url).origin}"}}]\nusers: [{name: u, user: {token: ${PASSWORD}}}]\ncontexts: [{name: hang, context: {cluster: hang, user: u}}]\n`,
    );
    env.CONTRACT_HANG_KUBECONFIG = join(repo, 'hanging-kubeconfig.yaml');
  });

  afterAll(async () => {
    await Promise.all([
      fine?.close(),
      hang?.close(),
      loki?.close(),
      es?.close(),
      haproxy?.stop(),
      caddy?.stop(),
      envoy?.close(),
      traefik?.close(),
    ]);
    metrics?.close();
    await kube?.close();
    rmSync(repo, { recursive: true, force: true });
    storeRedis?.disconnect();
    await redis?.destroy();
  });

  /** A configuration per check that answers quickly, and one that would hang forever. */
  const configs = (): Record<string, { quick: unknown; hanging: unknown; released?: () => number }> =>
    ({
      upstream: {
        quick: { targets: [fine.url], probes: 1, timeout_ms: 1000, tls_insecure: false },
        hanging: { targets: [hang.url], probes: 1, timeout_ms: 60_000, tls_insecure: false },
      },
      proxy: {
        quick: { url: fine.url, samples: 2 },
        hanging: { url: hang.url, samples: 1, timeout_ms: 60_000 },
      },
      ...remoteProxySources(),
      load: {
        quick: { scrape: [metricsUrl], sample_interval_ms: 100 },
        hanging: { scrape: [hang.url], sample_interval_ms: 100 },
      },
      database: {
        quick: { kind: 'redis', url_env: 'CONTRACT_DB_URL', probes: 2 },
        hanging: { kind: 'postgres', url_env: 'CONTRACT_HANG_DB_URL', probes: 1 },
      },
      changes: {
        quick: {
          window_minutes: 60,
          git: { repo, paths: [] },
          files: [join(repo, 'app.conf')],
          deploys: true,
        },
        hanging: { window_minutes: 60, deploys: true },
      },
      kubernetes: {
        quick: { namespace: 'default', service: 'nginx-service', kubeconfig_env: 'CONTRACT_KUBECONFIG' },
        hanging: {
          namespace: 'default',
          service: 'nginx-service',
          kubeconfig_env: 'CONTRACT_HANG_KUBECONFIG',
          timeout_ms: 60_000,
        },
      },
    }) as never;

  const hangingUrl = () => `http://127.0.0.1:${hang.port}`;
  const stats = (kind: string, url: string, auth = {}) => ({
    quick: { stats: { kind, url, sample_interval_ms: 100, ...auth } },
    hanging: { stats: { kind, url: hangingUrl(), sample_interval_ms: 100 }, timeout_ms: 60_000 },
  });

  /** The proxy check once per remote source it reads (issue 14): error logs from stores, stats of each proxy. */
  const remoteProxySources = () => ({
    'proxy: loki': {
      quick: {
        error_log: {
          source: 'loki',
          loki: { url: loki.url, query: '{job="nginx"}', token_env: 'CONTRACT_SECRET', tenant: 'contract' },
        },
      },
      hanging: {
        error_log: { source: 'loki', loki: { url: hangingUrl(), query: '{job="nginx"}' } },
        timeout_ms: 60_000,
      },
      released: () => loki.openConnections(),
    },
    'proxy: elasticsearch': {
      quick: {
        error_log: {
          source: 'elasticsearch',
          elasticsearch: { url: es.url, index: 'logs-nginx.error-*', api_key_env: 'CONTRACT_SECRET' },
        },
      },
      hanging: {
        error_log: { source: 'elasticsearch', elasticsearch: { url: hangingUrl(), index: 'logs-*' } },
        timeout_ms: 60_000,
      },
      released: () => es.openConnections(),
    },
    'proxy: haproxy stats': stats('haproxy', `${haproxy.statsUrl}/stats;csv`, {
      username: 'gw',
      password_env: 'CONTRACT_SECRET',
    }),
    'proxy: caddy stats': stats('caddy', caddy.adminUrl),
    'proxy: envoy stats': { ...stats('envoy', envoy.url), released: () => envoy.openConnections() },
    'proxy: traefik stats': {
      ...stats('traefik', `${traefik.url}/metrics`),
      released: () => traefik.openConnections(),
    },
  });

  const names = Object.keys(CHECKS) as CheckName[];
  const variants = [
    ...names.map((n) => [n, n] as const),
    ...(
      [
        'proxy: loki',
        'proxy: elasticsearch',
        'proxy: haproxy stats',
        'proxy: caddy stats',
        'proxy: envoy stats',
        'proxy: traefik stats',
      ] as const
    ).map((label) => [label, 'proxy'] as const),
  ];

  it('covers every registered check', () => {
    expect(names.sort()).toEqual(['changes', 'database', 'kubernetes', 'load', 'proxy', 'upstream']);
  });

  async function runOne(
    name: CheckName,
    config: unknown,
    opts: { check_ms?: number; signal?: AbortSignal; reader?: ChangeEventReader } = {},
  ): Promise<{ result: CheckResult; elapsed: number }> {
    const pb = playbook({
      service: 'contract',
      checks: { [name]: config },
      timeouts: { check_ms: opts.check_ms ?? 10_000, total_ms: 60_000 },
    });
    const started = Date.now();
    const [result] = await runChecks(pb, {
      log: silentLogger(),
      env,
      now: Date.now,
      onsetAt: Date.now(),
      signal: opts.signal,
      changeEvents: opts.reader ?? store,
    });
    return { result: result!, elapsed: Date.now() - started };
  }

  describe.each(variants)('%s', (label, name) => {
    it('returns a result of the contract shape, JSON-safe, with no secret in it', async () => {
      const { result } = await runOne(name, configs()[label]!.quick);
      expect(result.name).toBe(name);
      expect(STATUSES).toContain(result.status);
      expect(result.status).not.toBe('error');
      expect(typeof result.summary).toBe('string');
      expect(result.summary.length).toBeGreaterThan(0);
      expect(Number.isInteger(result.duration_ms)).toBe(true);
      expect(result.duration_ms).toBeGreaterThanOrEqual(0);
      expect(Array.isArray(result.evidence)).toBe(true);
      const json = JSON.stringify(result);
      expect(JSON.parse(json)).toEqual(result);
      expect(json).not.toContain(PASSWORD);
      expect(json).not.toContain(Buffer.from(`gw:${PASSWORD}`).toString('base64'));
      // A remote source read with its secret produced evidence, not an error hidden behind another signal.
      if (label.startsWith('proxy: ')) expect(json).not.toMatch(/unreadable|answered HTTP/);
      const released = configs()[label]?.released;
      if (released) await waitFor(() => released() === 0, 5000, `${label} to close its connections`);
    });

    it('honours its timeout: a hanging dependency yields a non-ok result in time', async () => {
      const { result, elapsed } = await runOne(name, configs()[label]!.hanging, {
        check_ms: 700,
        reader: neverAnswers,
      });
      expect(elapsed).toBeLessThan(700 + 1500);
      expect(['error', 'fail', 'warn']).toContain(result.status);
      expect(JSON.stringify(result)).not.toContain(PASSWORD);
      await waitFor(() => hang.openConnections() === 0, 5000, 'the check to close its connections');
    });

    it('honours an abort from outside', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('shutting down')), 300);
      const { result, elapsed } = await runOne(name, configs()[label]!.hanging, {
        check_ms: 30_000,
        signal: controller.signal,
        reader: neverAnswers,
      });
      expect(elapsed).toBeLessThan(300 + 1500);
      expect(['error', 'fail', 'warn']).toContain(result.status);
      // The check lets go: no connection of its own stays open on the hanging server.
      await waitFor(() => hang.openConnections() === 0, 5000, 'the check to close its connections');
    });
  });
});
