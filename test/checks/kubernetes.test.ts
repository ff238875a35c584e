import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type {
  EndpointsEvidence,
  HpaEvidence,
  KubernetesEvidence,
  PodEvidence,
  RolloutEvidence,
} from '../../src/checks/kubernetes/check.js';
import { runChecks } from '../../src/checks/runner.js';
import type { CheckResult } from '../../src/checks/types.js';
import { createLogger, type Logger, silentLogger } from '../../src/log.js';
import {
  type FakeKubeApiServer,
  fixture,
  fixtureItems,
  type KubeObject,
  startFakeKubeApiServer,
} from '../helpers/fake-kube-apiserver.js';
import { playbook } from '../helpers/gatewatch.js';
import { eventObjects, IN_PROGRESS, type WorldStory, worldObjects } from '../helpers/kube-world.js';
import { waitFor } from '../helpers/ports.js';

const TOKEN = 'kube-s3cret-token-do-not-log-4f1c';

/** A rollout in flight: revision 5 (hash 7d9f8c6b5) replacing 4, one new pod OOMKilled, one old pod terminating. */
const rolloutStory: WorldStory = {
  namespace: 'shop',
  service: 'checkout-api',
  rollout: {
    revision: 5,
    hash: '7d9f8c6b5',
    oldHash: '5c4b7f9d8',
    startedMinutesAgo: 14,
    desired: 3,
    updated: 2,
    available: 2,
    replicas: 4,
    progressing: IN_PROGRESS('checkout-api-7d9f8c6b5'),
  },
  pods: [
    {
      name: 'checkout-api-7d9f8c6b5-x2k8p',
      ip: '10.244.1.17',
      hash: '7d9f8c6b5',
      ready: true,
      oomKilled: { minutesAgo: 3, ranMinutes: 9 },
      memoryUsed: '301Mi',
    },
    {
      name: 'checkout-api-7d9f8c6b5-q9w2e',
      ip: '10.244.2.8',
      hash: '7d9f8c6b5',
      ready: true,
      memoryUsed: '280Mi',
    },
    { name: 'checkout-api-5c4b7f9d8-m4n5b', ip: '10.244.1.9', hash: '5c4b7f9d8', ready: true },
    {
      name: 'checkout-api-5c4b7f9d8-z7k1a',
      ip: '10.244.3.4',
      hash: '5c4b7f9d8',
      ready: true,
      terminating: { serving: true },
    },
  ],
  hpa: { current: 3, desired: 3, max: 10, cpuPercent: 41, targetPercent: 60 },
  eventsOn: { pod: 'checkout-api-7d9f8c6b5-x2k8p', minutesAgo: 4 },
};

function kinds<K extends KubernetesEvidence['kind']>(r: CheckResult, kind: K) {
  return (r.evidence as KubernetesEvidence[]).filter((e) => e.kind === kind) as Extract<
    KubernetesEvidence,
    { kind: K }
  >[];
}

describe('kubernetes check', () => {
  let fake: FakeKubeApiServer;
  let dir: string;
  const env: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-kube-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    fake = await startFakeKubeApiServer({ token: TOKEN, tls: { dir } });
    env.TEST_KUBECONFIG = fake.kubeconfig(dir);
  });
  afterEach(async () => {
    await fake.close();
  });

  async function run(
    config: Record<string, unknown>,
    over: { env?: Record<string, string>; check_ms?: number; log?: Logger } = {},
  ) {
    const [result] = await runChecks(
      playbook({
        service: 'checkout-api',
        checks: { kubernetes: { kubeconfig_env: 'TEST_KUBECONFIG', ...config } },
        timeouts: { check_ms: over.check_ms ?? 8000, total_ms: 20_000 },
      }),
      { log: over.log ?? silentLogger(), env: over.env ?? env, now: Date.now, onsetAt: Date.now() },
    );
    return result!;
  }

  it('reads the real EndpointSlice list: ready, draining and not-ready endpoints, by the service-name label', async () => {
    fake.add(...fixtureItems('endpointslice-list.json'));
    const r = await run({ namespace: 'default', service: 'nginx-service' });
    expect(r.status).toBe('warn');
    const [eps] = kinds(r, 'endpoints') as EndpointsEvidence[];
    expect(eps).toMatchObject({
      service: 'nginx-service',
      slices: 1,
      total: 3,
      ready: 1,
      terminating: 1,
      not_ready: 1,
    });
    expect(eps!.endpoints[0]).toEqual({
      address: '10.12.1.201',
      pod: 'nginx-deployment-7768647bf9-b4b9s',
      node: 'gke-main-default-pool-dca1511c-d17b',
      ready: false,
      serving: true,
      terminating: true,
    });
    expect(r.summary).toContain('1 of 3 endpoints ready, 1 terminating, 1 not ready');
    const slices = fake.requests.find((q) => q.path.endsWith('/endpointslices'));
    expect(slices?.path).toBe('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices');
    expect(slices?.query.labelSelector).toBe('kubernetes.io/service-name=nginx-service');
  });

  it('reads the real not-ready pod by selector: Running yet not Ready, no restarts', async () => {
    // The fixture pod has no labels: `!app` (no such label) selects it, `app` does not.
    fake.add(fixture('pod-not-ready.json'));
    const r = await run({ namespace: 'argocd', selector: '!app' });
    const [p] = kinds(r, 'pod') as PodEvidence[];
    expect(p).toMatchObject({ name: 'never-ready', phase: 'Running', ready: false, restarts: 0 });
    expect(p!.containers[0]).toMatchObject({ ready: false, state: 'running', last_terminated: null });
    const none = await run({ namespace: 'argocd', selector: 'app' });
    expect(kinds(none, 'pod')).toHaveLength(0);
    expect(fake.requests.at(-1)?.query.labelSelector).toBe('app');
  });

  it('reads the real HPA at its maximum: replicas, ScalingLimited and CPU against its target', async () => {
    fake.add(...fixtureItems('endpointslice-list.json'), fixture('hpa-at-max.json'));
    const r = await run({ namespace: 'default', service: 'nginx-service', hpa: 'php-apache' });
    const [h] = kinds(r, 'hpa') as HpaEvidence[];
    expect(h).toMatchObject({
      min: 1,
      max: 10,
      current: 10,
      desired: 10,
      at_max: true,
      limited: 'TooManyReplicas',
    });
    expect(h!.metrics).toEqual([
      {
        name: 'cpu',
        type: 'Resource',
        current_utilisation: 1.87,
        target_utilisation: 0.5,
        current_value: '374m',
        target_value: null,
      },
    ]);
    expect(r.summary).toContain(
      'HPA php-apache 10/10 replicas (at maxReplicas), cpu 187% of request (target 50%)',
    );
  });

  it('a rollout in flight: new pods, the OOMKilled one with its limit and memory, events, the old pod terminating', async () => {
    fake.add(...worldObjects(rolloutStory));
    const r = await run({ namespace: 'shop', service: 'checkout-api', hpa: 'checkout-api' });
    expect(r.status).toBe('fail');
    const [eps] = kinds(r, 'endpoints') as EndpointsEvidence[];
    expect(eps).toMatchObject({ total: 4, ready: 3, terminating: 1, not_ready: 0 });
    const pods = kinds(r, 'pod') as PodEvidence[];
    expect(pods.map((p) => p.name).sort()).toEqual(rolloutStory.pods.map((p) => p.name).sort());
    const oom = pods.find((p) => p.name === 'checkout-api-7d9f8c6b5-x2k8p')!;
    expect(oom.template_hash).toBe('7d9f8c6b5');
    expect(oom.replica_set).toBe('checkout-api-7d9f8c6b5');
    expect(oom.containers[0]).toMatchObject({
      name: 'app',
      restarts: 1,
      state: 'running',
      memory_limit_bytes: 512 * 2 ** 20,
      memory_bytes: 301 * 2 ** 20,
    });
    expect(oom.containers[0]!.last_terminated).toMatchObject({
      reason: 'OOMKilled',
      exit_code: 137,
      recent: true,
      ran_minutes: 9,
    });
    expect(oom.containers[0]!.last_terminated!.minutes_before_onset).toBeCloseTo(3, 0);
    expect(oom.events.map((e) => e.reason)).toEqual(['Unhealthy', 'Unhealthy', 'Killing', 'BackOff']);
    expect(oom.events[0]!.count).toBe(11);
    expect(pods.find((p) => p.name === 'checkout-api-5c4b7f9d8-z7k1a')!.terminating).toBe(true);
    const [ro] = kinds(r, 'rollout') as RolloutEvidence[];
    expect(ro).toMatchObject({
      deployment: 'checkout-api',
      revision: '5',
      replica_set: 'checkout-api-7d9f8c6b5',
      template_hash: '7d9f8c6b5',
      state: 'progressing',
      desired: 3,
      updated: 2,
      replicas: 4,
      recent: true,
      old_replica_sets: ['checkout-api-5c4b7f9d8'],
      progressing: { status: 'True', reason: 'ReplicaSetUpdated' },
    });
    expect(ro!.minutes_before_onset).toBeCloseTo(14, 0);
    expect(r.summary).toContain('OOMKilled: checkout-api-7d9f8c6b5-x2k8p');
    expect(r.summary).toContain('Deployment checkout-api revision 5 progressing: 2 of 3 updated');
    // The ReplicaSets are found through the Deployment's selector.
    const sets = fake.requests.find((q) => q.path === '/apis/apps/v1/namespaces/shop/replicasets');
    expect(sets?.query.labelSelector).toBe('app=checkout-api');
    const events = fake.requests.find((q) => q.path === '/api/v1/namespaces/shop/events');
    expect(events?.query.fieldSelector).toBe('involvedObject.kind=Pod');
  });

  /** `n` kubelet events of other pods of the namespace (a busy namespace), listed before the story's. */
  function otherPodsEvents(n: number) {
    const template = eventObjects(rolloutStory)[0] as KubeObject & { involvedObject: object };
    return Array.from({ length: n }, (_, i) => ({
      ...template,
      metadata: { ...template.metadata, name: `batch-job-${i}.17a0c0ffee${i}` },
      involvedObject: { ...template.involvedObject, name: `batch-job-${i}` },
    }));
  }

  it("a busy namespace: the story's pod events on a later page are read (the list is followed page by page)", async () => {
    fake.add(...otherPodsEvents(700), ...worldObjects(rolloutStory));
    const r = await run({ namespace: 'shop', service: 'checkout-api' });
    const oom = (kinds(r, 'pod') as PodEvidence[]).find((p) => p.name === 'checkout-api-7d9f8c6b5-x2k8p')!;
    expect(oom.events.map((e) => e.reason)).toEqual(['Unhealthy', 'Unhealthy', 'Killing', 'BackOff']);
    expect(kinds(r, 'gap')).toEqual([]);
    const pages = fake.requests.filter((q) => q.path === '/api/v1/namespaces/shop/events');
    expect(pages.map((q) => q.query.limit)).toEqual(['500', '500']);
    expect(pages[1]!.query.continue).toBeTruthy();
  });

  it('a namespace with more Pod events than ten pages: what was read is used and the gap is said', async () => {
    fake.add(...otherPodsEvents(5200), ...worldObjects(rolloutStory));
    const r = await run({ namespace: 'shop', service: 'checkout-api' });
    // Ten pages, or fewer when a slow (busy) machine spends the list's 2 s first.
    const pages = fake.requests.filter((q) => q.path === '/api/v1/namespaces/shop/events').length;
    expect(pages).toBeGreaterThanOrEqual(1);
    expect(pages).toBeLessThanOrEqual(10);
    expect(kinds(r, 'gap')).toEqual([
      {
        kind: 'gap',
        part: 'events',
        error: `namespace shop holds more Pod events than gatewatch reads (10 pages of 500 within 2 s): read the first ${pages * 500}, so some of these pods' events may be missing`,
      },
    ]);
  });

  it("a namespace of many pods: the endpoints' pods are read by name, not picked from one page of the namespace", async () => {
    const story = worldObjects(rolloutStory);
    const template = story.find((o) => o.kind === 'Pod')!;
    const others = Array.from({ length: 600 }, (_, i) => ({
      ...template,
      metadata: { ...template.metadata, name: `batch-job-${i}`, labels: { app: 'batch' } },
    }));
    fake.add(...others, ...story);
    const r = await run({ namespace: 'shop', service: 'checkout-api' });
    const pods = kinds(r, 'pod') as PodEvidence[];
    expect(pods.map((p) => p.name).sort()).toEqual(rolloutStory.pods.map((p) => p.name).sort());
    const reads = fake.requests.filter((q) => q.path.startsWith('/api/v1/namespaces/shop/pods'));
    expect(reads.map((q) => q.path).sort()).toEqual(
      rolloutStory.pods.map((p) => `/api/v1/namespaces/shop/pods/${p.name}`).sort(),
    );
  });

  it('an OOM kill outside the window is history, not the incident', async () => {
    const old: WorldStory = {
      ...rolloutStory,
      pods: [{ ...rolloutStory.pods[0]!, oomKilled: { minutesAgo: 200, ranMinutes: 9 } }],
    };
    fake.add(...worldObjects(old));
    const r = await run({ namespace: 'shop', service: 'checkout-api', window_minutes: 60 });
    const [p] = kinds(r, 'pod') as PodEvidence[];
    expect(p!.containers[0]!.last_terminated).toMatchObject({ reason: 'OOMKilled', recent: false });
    expect(r.summary).not.toContain('OOMKilled');
  });

  it('in-cluster: KUBERNETES_SERVICE_HOST/PORT, the mounted CA, and the token re-read on each run (rotation)', async () => {
    fake.add(...worldObjects(rolloutStory));
    const sa = mkdtempSync(join(dir, 'sa-'));
    writeFileSync(join(sa, 'ca.crt'), fake.ca!);
    writeFileSync(join(sa, 'token'), 'an-expired-token\n');
    const port = new URL(fake.url).port;
    const clusterEnv = {
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: port,
      GATEWATCH_SERVICE_ACCOUNT_DIR: sa,
    };
    const config = { namespace: 'shop', service: 'checkout-api', kubeconfig_env: undefined };
    const before = await run(config, { env: clusterEnv });
    expect(before.status).toBe('error');
    expect(before.summary).toContain('401');
    writeFileSync(join(sa, 'token'), `${TOKEN}\n`);
    const after = await run(config, { env: clusterEnv });
    expect(after.status).toBe('fail');
    expect(kinds(after, 'endpoints')).toHaveLength(1);
    expect(fake.requests.at(-1)?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.stringify(after)).not.toContain(TOKEN);
  });

  it('in-cluster with a CA that did not sign the server: a TLS error, never an insecure retry', async () => {
    const sa = mkdtempSync(join(dir, 'sa-'));
    const other = await startFakeKubeApiServer({ tls: { dir: mkdtempSync(join(dir, 'other-')) } });
    writeFileSync(join(sa, 'ca.crt'), other.ca!);
    await other.close();
    writeFileSync(join(sa, 'token'), TOKEN);
    const r = await run(
      { namespace: 'shop', service: 'checkout-api', kubeconfig_env: undefined },
      {
        env: {
          KUBERNETES_SERVICE_HOST: '127.0.0.1',
          KUBERNETES_SERVICE_PORT: new URL(fake.url).port,
          GATEWATCH_SERVICE_ACCOUNT_DIR: sa,
        },
      },
    );
    expect(r.status).toBe('error');
    expect(r.summary).toMatch(/cannot reach the API server 127\.0\.0\.1:\d+: .*(certificate|signature)/i);
    expect(fake.requests).toHaveLength(0);
  });

  it('a kubeconfig context named in the playbook is the one used', async () => {
    env.TEST_KUBECONFIG = fake.kubeconfig(dir, { context: 'prod', extraContexts: ['staging'] });
    fake.add(...worldObjects(rolloutStory));
    const prod = await run({ namespace: 'shop', service: 'checkout-api', context: 'prod' });
    expect(prod.status).toBe('fail');
    const staging = await run({ namespace: 'shop', service: 'checkout-api', context: 'staging' });
    expect(staging.status).toBe('error');
    expect(staging.summary).toContain('cannot reach the API server 127.0.0.1:1');
    const missing = await run({ namespace: 'shop', service: 'checkout-api', context: 'nope' });
    expect(missing.summary).toContain('has no context "nope"');
  });

  it('wrong credentials: 401 as an error naming where they came from, the token in no output', async () => {
    env.TEST_KUBECONFIG = fake.kubeconfig(dir, { token: 'wrong-token-xyz' });
    const r = await run({ namespace: 'shop', service: 'checkout-api' });
    expect(r.status).toBe('error');
    expect(r.summary).toContain('the API server rejected the credentials of kubeconfig');
    expect(r.summary).toContain('401 Unauthorized');
    expect(JSON.stringify(r)).not.toContain('wrong-token-xyz');
  });

  it('the token reaches no log line, at trace level, whether the API server accepts it or not', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'trace', destination: { write: (s: string) => void lines.push(s) } });
    fake.add(...worldObjects(rolloutStory));
    const ok = await run({ namespace: 'shop', service: 'checkout-api' }, { log });
    expect(ok.status).toBe('fail');
    env.TEST_KUBECONFIG = fake.kubeconfig(dir, { token: `${TOKEN}-revoked` });
    const refused = await run({ namespace: 'shop', service: 'checkout-api' }, { log });
    expect(refused.status).toBe('error');
    expect(lines.join('\n')).toContain('check failed');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).not.toContain(TOKEN);
  });

  it('$KUBECONFIG when no kubeconfig_env and not in a cluster; a list of files reads the first', async () => {
    fake.add(...worldObjects(rolloutStory));
    const kc = fake.kubeconfig(dir);
    const r = await run(
      { namespace: 'shop', service: 'checkout-api', kubeconfig_env: undefined },
      { env: { KUBECONFIG: `${kc}:/nonexistent/other.yaml` } },
    );
    expect(r.status).toBe('fail');
    expect(kinds(r, 'endpoints')).toHaveLength(1);
    const listed = await run(
      { namespace: 'shop', service: 'checkout-api' },
      { env: { TEST_KUBECONFIG: `${kc}:/x` } },
    );
    expect(listed.status).toBe('fail');
  });

  it('no credentials at all: a clear error', async () => {
    const r = await run(
      { namespace: 'shop', service: 'checkout-api', kubeconfig_env: undefined },
      { env: {} },
    );
    expect(r.status).toBe('error');
    expect(r.summary).toContain('no Kubernetes credentials');
  });

  it('403 on the endpoints: an error quoting the API server, naming the RBAC fix', async () => {
    fake.forbid('endpointslices.discovery.k8s.io');
    const r = await run({ namespace: 'shop', service: 'checkout-api' });
    expect(r.status).toBe('error');
    expect(r.summary).toContain(
      'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:gatewatch:gatewatch" cannot list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "shop"',
    );
    expect(r.summary).toContain('docs/operations.md');
  });

  it('403 on the HPA and no metrics-server: the rest is still read, the gap said', async () => {
    fake.add(...worldObjects(rolloutStory));
    fake.forbid('horizontalpodautoscalers.autoscaling');
    fake.forbid('pods.metrics.k8s.io');
    const r = await run({ namespace: 'shop', service: 'checkout-api', hpa: 'checkout-api' });
    expect(r.status).toBe('fail');
    expect(kinds(r, 'hpa')).toHaveLength(0);
    expect(kinds(r, 'gap')).toEqual([
      { kind: 'gap', part: 'hpa', error: expect.stringContaining('forbidden (403)') },
    ]);
    expect(r.summary).toContain('hpa unreadable');
    const pods = kinds(r, 'pod') as PodEvidence[];
    expect(pods.every((p) => p.containers.every((c) => c.memory_bytes === null))).toBe(true);
  });

  it('404: a Deployment named in the playbook that does not exist is an error quoting the Status', async () => {
    fake.add(...worldObjects(rolloutStory));
    const r = await run({ namespace: 'shop', deployment: 'checkout-apii' });
    expect(r.status).toBe('error');
    expect(r.summary).toContain('answered 404: deployments.apps "checkout-apii" not found');
  });

  it('a hanging events API: the check still answers within its per-request timeout, events as a gap', async () => {
    fake.add(...worldObjects(rolloutStory));
    fake.hang('events');
    const r = await run({ namespace: 'shop', service: 'checkout-api', timeout_ms: 400 });
    expect(r.status).toBe('fail');
    expect(kinds(r, 'gap')).toEqual([
      {
        kind: 'gap',
        part: 'events',
        error: 'the API server did not answer GET /api/v1/namespaces/shop/events in 400 ms',
      },
    ]);
    expect(kinds(r, 'pod').length).toBe(4);
  });

  it('an endless answer is cut at 16 MiB: an error, the connection dropped', async () => {
    fake.flood('endpointslices.discovery.k8s.io');
    const r = await run(
      { namespace: 'shop', service: 'checkout-api', timeout_ms: 20_000 },
      { check_ms: 30_000 },
    );
    expect(r.status).toBe('error');
    expect(r.summary).toContain('answered more than 16 MiB');
    await waitFor(() => fake.openConnections() === 0, 5000, 'the check to drop its connection');
  });

  it('a hanging endpoints API: the check errors in time', async () => {
    fake.hang('endpointslices.discovery.k8s.io');
    const r = await run({ namespace: 'shop', service: 'checkout-api', timeout_ms: 400 });
    expect(r.status).toBe('error');
    expect(r.summary).toContain(
      'did not answer GET /apis/discovery.k8s.io/v1/namespaces/shop/endpointslices in 400 ms',
    );
  });

  it('a malformed selector is refused by the playbook schema before any request', () => {
    expect(() =>
      playbook({ service: 'x', checks: { kubernetes: { namespace: 'shop', selector: 'app=$(rm -rf)' } } }),
    ).toThrow(/label selector/);
    expect(() => playbook({ service: 'x', checks: { kubernetes: { namespace: 'shop' } } })).toThrow(
      /name a service, a selector or a deployment/,
    );
    expect(() =>
      playbook({ service: 'x', checks: { kubernetes: { namespace: 'Shop!', service: 'a' } } }),
    ).toThrow(/Kubernetes name/);
  });
});
