import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../helpers/binaries.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { playbook, startGatewatch, type TestGatewatch } from '../helpers/gatewatch.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { redisServerArgs } from '../helpers/redis.js';
import { pagerdutyTriggered, postPagerDuty } from '../helpers/signed.js';
import { refusingUpstream } from '../helpers/upstreams.js';

const run = promisify(execFile);

/** Three empty redis-server nodes in cluster mode, each in its own temp dir, joined into one cluster. */
async function startCluster() {
  const server = requireBinary('redis-server');
  const cli = requireBinary('redis-cli');
  const nodes: { port: number; dir: string; proc: ChildProcess }[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gw-cluster-'));
    const proc = spawn(
      server,
      [
        ...redisServerArgs(port, dir),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '2000',
      ],
      { stdio: 'ignore' },
    );
    nodes.push({ port, dir, proc });
  }
  for (const n of nodes)
    await waitFor(
      async () =>
        (await run(cli, ['-p', String(n.port), 'ping']).catch(() => ({ stdout: '' }))).stdout.includes(
          'PONG',
        ),
      10_000,
      `cluster node ${n.port}`,
    );
  await run(cli, [
    '--cluster',
    'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  for (const n of nodes)
    await waitFor(
      async () =>
        (await run(cli, ['-p', String(n.port), 'cluster', 'info'])).stdout.includes('cluster_state:ok'),
      20_000,
      `cluster state ok on ${n.port}`,
    );
  return {
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`),
    async destroy() {
      for (const n of nodes) {
        if (n.proc.exitCode === null) {
          const exited = new Promise((r) => n.proc.once('exit', r));
          n.proc.kill('SIGKILL');
          await exited;
        }
        rmSync(n.dir, { recursive: true, force: true });
      }
    },
  };
}

describe('on a 3-node Redis Cluster', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  let slack: FakeSlack;
  let gw: TestGatewatch;
  let probe: Cluster;

  beforeAll(async () => {
    cluster = await startCluster();
    slack = await new FakeSlack().start();
    const dead = await refusingUpstream();
    gw = await startGatewatch({
      redisUrl: `redis://${cluster.seeds[0]}`,
      slackUrl: slack.url,
      env: { REDIS_CLUSTER_NODES: cluster.seeds.join(',') },
      playbooks: [
        playbook({
          service: 'cluster-api',
          match: { pagerduty_services: ['PCLU001'] },
          checks: { upstream: { targets: [dead.url], probes: 1, timeout_ms: 1000 } },
        }),
      ],
    });
    probe = new Cluster(cluster.seeds.map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) })));
  });

  afterAll(async () => {
    probe?.disconnect();
    await gw?.close();
    await slack?.stop();
    await cluster?.destroy();
  });

  it('ingests an alert, queues it and posts the verdict, with every key in the prefix slot', async () => {
    const body = pagerdutyTriggered('PCLUINC1', 'PCLU001');
    const res = await postPagerDuty(gw.baseUrl, body);
    expect(res.statusCode).toBe(202);
    expect(await res.body.json()).toMatchObject({ incident: 'PCLUINC1', status: 'queued' });

    const verdict = await slack.waitFor(
      () => slack.messages.find((m) => m.metadata?.event_type === 'gatewatch_verdict'),
      30_000,
    );
    expect(verdict.metadata!.event_payload).toMatchObject({ incident: 'PCLUINC1', cause: 'upstream_down' });

    // Every key gatewatch and BullMQ wrote sits on the one node that owns the prefix's hash slot.
    const slot = (await probe.call('CLUSTER', 'KEYSLOT', gw.prefix)) as number;
    const owners = probe.nodes('master');
    let found: string[] = [];
    for (const node of owners) {
      const keys = await node.keys(`${gw.prefix}*`);
      if (keys.length > 0) found = found.concat(keys);
    }
    expect(found).toContain(`${gw.prefix}:incident:PCLUINC1`);
    expect(found.some((k) => k.startsWith(`${gw.prefix}:${gw.queueName}:`))).toBe(true);
    for (const key of found) expect(await probe.call('CLUSTER', 'KEYSLOT', key)).toBe(slot);
    expect(await probe.hget(`${gw.prefix}:incident:PCLUINC1`, 'state')).toBe('diagnosed');
  });

  it('is ready, and exports queue depth read from the cluster', async () => {
    const ready = await request(`${gw.baseUrl}/readyz`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();
    const metrics = await (await request(`${gw.baseUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/^gatewatch_queue_jobs\{state="completed"\} [1-9]/m);
  });
});
