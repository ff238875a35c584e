// Worlds where the cluster's view decides: a real nginx in front of real
// processes produces the 502s (or 504s), and the fake API server, serving the
// real fixture objects, says what Kubernetes sees behind the Service. Each is
// judged by `gatewatch check --json` in its own process, reading the cluster
// through a kubeconfig as on-call would.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeKubeApiServer } from '../helpers/fake-kube-apiserver.js';
import { COMPLETE, IN_PROGRESS, type WorldStory, worldObjects } from '../helpers/kube-world.js';
import { startNginx } from '../helpers/nginx.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { nginxSite, upstreamBlock } from '../helpers/sites.js';
import { resettingUpstream } from '../helpers/upstreams.js';
import { check, drive, scenarioSuite, startApp } from './world.js';

const { table, pb, later } = scenarioSuite('scenarios: kubernetes');
const certs = mkdtempSync(join(tmpdir(), 'gw-kube-scenario-'));
afterAll(() => rmSync(certs, { recursive: true, force: true }));

const NEW = '7d9f8c6b5';
const OLD = '5c4b7f9d8';
const RS = `checkout-api-${NEW}`;

/** nginx in front of the pods: no retry on another pod, as with one endpoint or proxy_next_upstream off. */
const site = (servers: number[]) =>
  nginxSite('proxy_next_upstream off; proxy_pass http://checkout;', { upstreams: upstreamBlock(servers) });

const LEAKY_APP = fileURLToPath(new URL('./leaky-app.mjs', import.meta.url));

/**
 * The leaking release under a restart loop, as the kubelet runs a container:
 * capped at 24 MB of heap it dies of exhaustion after a few requests (exit 134)
 * and comes back on the same port a second later. Counts its deaths.
 */
async function restartingLeaker(): Promise<{ port: number; deaths(): number; stop(): Promise<void> }> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  let deaths = 0;
  let stopped = false;
  const start = () => {
    proc = spawn(process.execPath, ['--max-old-space-size=24', LEAKY_APP], {
      stdio: 'ignore',
      env: { ...process.env, PORT: String(port) },
    });
    proc.once('exit', () => {
      deaths++;
      if (!stopped) setTimeout(start, 1000);
    });
  };
  start();
  await waitFor(
    () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok),
    10_000,
    'the leaky app to listen',
  );
  return {
    port,
    deaths: () => deaths,
    stop: async () => {
      stopped = true;
      const p = proc as ChildProcess | null;
      if (p && p.exitCode === null && p.signalCode === null) {
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        await gone;
      }
    },
  };
}

/** A fake API server holding the story's objects, and the kubeconfig that reaches it over TLS. */
async function cluster(story: WorldStory) {
  const fake = later(await startFakeKubeApiServer({ tls: { dir: mkdtempSync(join(certs, 'api-')) } }), (f) =>
    f.close(),
  );
  fake.add(...worldObjects(story));
  // As a worker pod sees it: the kubelet's environment and the mounted service-account files.
  const sa = mkdtempSync(join(certs, 'sa-'));
  writeFileSync(join(sa, 'token'), `${fake.token}\n`);
  writeFileSync(join(sa, 'ca.crt'), fake.ca!);
  const inCluster = {
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: new URL(fake.url).port,
    GATEWATCH_SERVICE_ACCOUNT_DIR: sa,
  };
  return { fake, env: { SHOP_KUBECONFIG: fake.kubeconfig(mkdtempSync(join(certs, 'kc-'))) }, inCluster };
}

function checks(nginx: { url: string; errorLog: string }, k8s: Record<string, unknown> = {}) {
  return {
    proxy: { url: `${nginx.url}/healthz`, samples: 6, timeout_ms: 3000, error_log: { path: nginx.errorLog } },
    kubernetes: {
      namespace: 'shop',
      service: 'checkout-api',
      kubeconfig_env: 'SHOP_KUBECONFIG',
      ...k8s,
    },
  };
}

const pods = (n: number, hash: string, over: Partial<WorldStory['pods'][number]> = {}) =>
  Array.from({ length: n }, (_, i) => ({
    name: `checkout-api-${hash}-p${i}`,
    ip: `10.244.${i + 1}.17`,
    hash,
    ready: true,
    ...over,
  }));

/** A Deployment whose last rollout finished days ago: `available` of `desired` pods serve. */
const settled = (desired: number, available = desired): WorldStory['rollout'] => ({
  revision: 4,
  hash: NEW,
  startedMinutesAgo: 3 * 24 * 60,
  desired,
  updated: desired,
  available,
  replicas: desired,
  progressing: COMPLETE,
});

describe('scenario worlds the cluster decides', () => {
  it('a pod of the new revision OOMKilled after a deploy, 502s as it dies: memory_leak, the rollout is the trigger', async () => {
    const leaker = later(await restartingLeaker(), (l) => l.stop());
    const nginx = later(await startNginx({ http: site([leaker.port]) }), (n) => n.stop());
    // Traffic until the release has really died of its leak at least once, and on through the check.
    const traffic = later(drive(`${nginx.url}/`, 2), (t) => t.stop());
    await waitFor(() => leaker.deaths() >= 1, 20_000, 'the leaking release to die of heap exhaustion');
    const story: WorldStory = {
      namespace: 'shop',
      service: 'checkout-api',
      rollout: {
        revision: 5,
        hash: NEW,
        startedMinutesAgo: 16,
        desired: 3,
        updated: 3,
        available: 3,
        replicas: 3,
        progressing: COMPLETE,
      },
      pods: [
        { ...pods(1, NEW)[0]!, oomKilled: { minutesAgo: 2, ranMinutes: 11 }, memoryUsed: '388Mi' },
        ...pods(3, NEW).slice(1),
      ],
    };
    const { env } = await cluster(story);
    pb.write('oom-after-deploy', checks(nginx));
    const v = await check('oom-after-deploy', pb.dir, env);
    await traffic.stop();
    table.judge('OOMKilled after a deploy', v, { cause: 'memory_leak', recommendation: 'fix', trigger: RS });
    expect(v.confidence).toBeGreaterThanOrEqual(0.8);
    expect(v.summary).toContain(
      `checkout-api-${NEW}-p0 (container app) OOMKilled at its 512Mi limit after running 11 min`,
    );
    expect(v.actions[0]).toMatch(new RegExp(`^Roll back deploy ${RS} \\(Deployment checkout-api revision 5`));
  });

  it('502s during a rollout while an old pod terminates: deploy_drain, the rollout is the trigger', async () => {
    const fresh = later(await startApp('ok'), (x) => x.stop());
    const stopping = later(await resettingUpstream(), (u) => u.close());
    const nginx = later(await startNginx({ http: site([fresh.port, stopping.port]) }), (n) => n.stop());
    const story: WorldStory = {
      namespace: 'shop',
      service: 'checkout-api',
      rollout: {
        revision: 5,
        hash: NEW,
        oldHash: OLD,
        startedMinutesAgo: 3,
        desired: 2,
        updated: 2,
        available: 2,
        replicas: 3,
        progressing: IN_PROGRESS(RS),
      },
      pods: [
        ...pods(2, NEW),
        {
          name: `checkout-api-${OLD}-p0`,
          ip: '10.244.9.17',
          hash: OLD,
          ready: true,
          terminating: { serving: true },
        },
      ],
    };
    const { env } = await cluster(story);
    pb.write('rollout-drain', checks(nginx));
    const v = await check('rollout-drain', pb.dir, env);
    table.judge('502s during a rollout', v, { cause: 'deploy_drain', recommendation: 'fix', trigger: RS });
    expect(v.summary).toContain(`terminating (checkout-api-${OLD}-p0)`);
    expect(v.actions.join('\n')).toContain('preStop');
  });

  it('every replica saturated and the HPA at maxReplicas, requests timing out: scale-up with capacity in replicas', async () => {
    const slow = later(await startApp('slow', '1500'), (x) => x.stop());
    const nginx = later(await startNginx({ http: site([slow.port]) }), (n) => n.stop());
    const story: WorldStory = {
      namespace: 'shop',
      service: 'checkout-api',
      rollout: settled(10),
      pods: pods(10, NEW),
      hpa: { current: 10, desired: 10, max: 10, cpuPercent: 187, targetPercent: 50 },
    };
    const { env } = await cluster(story);
    pb.write('hpa-at-max', checks(nginx, { hpa: 'checkout-api' }));
    const v = await check('hpa-at-max', pb.dir, env);
    table.judge('HPA at max, CPU 187%', v, {
      cause: 'upstream_saturated',
      recommendation: 'scale-up',
      trigger: null,
    });
    expect(v.capacity).toEqual({
      resource: 'cpu',
      instances: 10,
      utilisation: 1.87,
      target_utilisation: 0.5,
      suggested_instances: 38,
    });
    expect(v.actions.join('\n')).toContain(
      'already at maxReplicas (10) and cannot add replicas: raise maxReplicas to at least 38',
    );
  });

  it('no endpoint ready (readiness failing, the app never listens): upstream_down', async () => {
    const closed = await freePort();
    const nginx = later(await startNginx({ http: site([closed]) }), (n) => n.stop());
    const story: WorldStory = {
      namespace: 'shop',
      service: 'checkout-api',
      rollout: settled(3, 0),
      pods: pods(3, NEW, { ready: false }),
      eventsOn: { pod: `checkout-api-${NEW}-p0`, minutesAgo: 2 },
    };
    const { inCluster } = await cluster(story);
    // This one reads the cluster as a worker pod does: the in-cluster service account, no kubeconfig.
    pb.write('none-ready', checks(nginx, { kubeconfig_env: undefined }));
    const v = await check('none-ready', pb.dir, inCluster);
    table.judge('no endpoint ready', v, { cause: 'upstream_down', recommendation: 'fix', trigger: null });
    expect(v.summary).toContain('No endpoint of Service checkout-api is ready (0 of 3: 3 failing readiness)');
    expect(v.actions[0]).toContain('Readiness probe failed');
  });

  it('hard: the cluster says no endpoint is ready, yet nginx serves 200s: unknown, the conflict stated', async () => {
    const app = later(await startApp('ok'), (x) => x.stop());
    const nginx = later(await startNginx({ http: site([app.port]) }), (n) => n.stop());
    const story: WorldStory = {
      namespace: 'shop',
      service: 'checkout-api',
      rollout: settled(2, 0),
      pods: pods(2, NEW, { ready: false }),
    };
    const { env } = await cluster(story);
    pb.write('wrong-service', checks(nginx));
    const v = await check('wrong-service', pb.dir, env);
    table.judge('no endpoint ready, nginx serves 200', v, {
      cause: 'unknown',
      recommendation: 'investigate',
      trigger: null,
    });
    expect(v.confidence).toBeLessThan(0.5);
    expect(v.summary).toContain('contradicts itself');
  });
});
