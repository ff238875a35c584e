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
import { ChangeEventStore } from '../../src/ingest/change-events.js';
import { silentLogger } from '../../src/log.js';
import type { CheckName, ChecksConfig } from '../../src/playbooks/schema.js';
import {
  type FakeKubeApiServer,
  fixtureItems,
  startFakeKubeApiServer,
} from '../helpers/fake-kube-apiserver.js';
import { playbook } from '../helpers/gatewatch.js';
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
    await Promise.all([fine?.close(), hang?.close()]);
    metrics?.close();
    await kube?.close();
    rmSync(repo, { recursive: true, force: true });
    storeRedis?.disconnect();
    await redis?.destroy();
  });

  /** A configuration per check that answers quickly, and one that would hang forever. */
  const configs = (): Record<
    CheckName,
    { quick: ChecksConfig[CheckName]; hanging: ChecksConfig[CheckName] }
  > =>
    ({
      upstream: {
        quick: { targets: [fine.url], probes: 1, timeout_ms: 1000, tls_insecure: false },
        hanging: { targets: [hang.url], probes: 1, timeout_ms: 60_000, tls_insecure: false },
      },
      proxy: {
        quick: { url: fine.url, samples: 2 },
        hanging: { url: hang.url, samples: 1, timeout_ms: 60_000 },
      },
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

  const names = Object.keys(CHECKS) as CheckName[];

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

  describe.each(names)('%s', (name) => {
    it('returns a result of the contract shape, JSON-safe, with no secret in it', async () => {
      const { result } = await runOne(name, configs()[name].quick);
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
    });

    it('honours its timeout: a hanging dependency yields a non-ok result in time', async () => {
      const { result, elapsed } = await runOne(name, configs()[name].hanging, {
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
      const { result, elapsed } = await runOne(name, configs()[name].hanging, {
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
