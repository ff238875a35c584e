import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../helpers/binaries.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { playbook, startGatewatch, type TestGatewatch } from '../helpers/gatewatch.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { type PrivateRedis, redisServerArgs, startRedis } from '../helpers/redis.js';
import { pagerdutyTriggered, postPagerDuty } from '../helpers/signed.js';
import { refusingUpstream } from '../helpers/upstreams.js';

const MASTER_NAME = 'mymaster';
// Two services: a second alert for the same service would join its open incident, not start one.
const PD_SERVICES = { before: 'PSEN001', after: 'PSEN002' } as const;

interface Daemon {
  port: number;
  dir: string;
  proc: ChildProcess;
  client: Redis;
}

function probeClient(port: number): Redis {
  const c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  c.on('error', () => {});
  return c;
}

/** A redis-server (data node or sentinel) in its own temp dir, answering PING. */
async function startDaemon(prefix: string, args: (dir: string, port: number) => string[]): Promise<Daemon> {
  const bin = requireBinary('redis-server');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const proc = spawn(bin, args(dir, port), { stdio: 'ignore' });
  const client = probeClient(port);
  await waitFor(async () => (await client.ping()) === 'PONG', 10_000, `${prefix} on ${port}`);
  return { port, dir, proc, client };
}

async function stopDaemon(d: Daemon | undefined): Promise<void> {
  if (!d) return;
  d.client.disconnect();
  if (d.proc.exitCode === null && d.proc.signalCode === null) {
    const exited = new Promise((r) => d.proc.once('exit', r));
    d.proc.kill('SIGKILL');
    await exited;
  }
  rmSync(d.dir, { recursive: true, force: true });
}

function startReplica(masterPort: number): Promise<Daemon> {
  return startDaemon('gw-replica-', (dir, port) => [
    ...redisServerArgs(port, dir),
    '--replicaof',
    '127.0.0.1',
    String(masterPort),
  ]);
}

/** Sentinel rewrites its config file at runtime, so it gets a writable copy in its own dir. */
function startSentinel(masterPort: number): Promise<Daemon> {
  return startDaemon('gw-sentinel-', (dir, port) => {
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 3000`,
        '',
      ].join('\n'),
    );
    return [conf, '--sentinel'];
  });
}

async function masterPortPerSentinel(sentinel: Redis): Promise<number> {
  const addr = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[] | null;
  return Number(addr?.[1]);
}

/** SENTINEL REPLICAS answers flat [field, value, ...] arrays; a usable replica is linked and not down. */
async function sentinelSeesHealthyReplica(sentinel: Redis, replicaPort: number): Promise<boolean> {
  const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
  return replicas.some((flat) => {
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
    return (
      f.get('port') === String(replicaPort) &&
      f.get('master-link-status') === 'ok' &&
      !/s_down|o_down|disconnected/.test(f.get('flags') ?? '')
    );
  });
}

describe('through Redis Sentinel, across a master failover', () => {
  let master: PrivateRedis;
  let masterProbe: Redis;
  let masterKilled = false;
  let replica: Daemon;
  let sentinel: Daemon;
  let slack: FakeSlack;
  let gw: TestGatewatch;

  beforeAll(async () => {
    master = await startRedis();
    masterProbe = master.client();
    replica = await startReplica(master.port);
    sentinel = await startSentinel(master.port);
    // Killing the master before the sentinel knows a synced replica would leave nothing to promote.
    await waitFor(
      () => sentinelSeesHealthyReplica(sentinel.client, replica.port),
      15_000,
      'sentinel to discover the synced replica',
    );

    slack = await new FakeSlack().start();
    const dead = await refusingUpstream();
    gw = await startGatewatch({
      // Nothing listens here: every connection must be found through the sentinel.
      redisUrl: 'redis://no-direct-redis.invalid:6379',
      slackUrl: slack.url,
      env: { REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`, REDIS_SENTINEL_NAME: MASTER_NAME },
      playbooks: Object.entries(PD_SERVICES).map(([when, id]) =>
        playbook({
          service: `sentinel-api-${when}`,
          match: { pagerduty_services: [id] },
          checks: { upstream: { targets: [dead.url], probes: 1, timeout_ms: 1000 } },
        }),
      ),
    });
  }, 30_000);

  afterAll(async () => {
    await gw?.close();
    await slack?.stop();
    await stopDaemon(sentinel);
    await stopDaemon(replica);
    masterProbe?.disconnect();
    // PrivateRedis.destroy() after stop() waits for a second 'exit' that never comes; the process is gone.
    if (masterKilled) rmSync(master.dir, { recursive: true, force: true });
    else await master?.destroy();
  });

  async function sendAlert(incident: string, service: string) {
    const body = pagerdutyTriggered(incident, service);
    const res = await postPagerDuty(gw.baseUrl, body);
    return { status: res.statusCode, body: (await res.body.json()) as unknown };
  }

  function verdictFor(incident: string) {
    return slack.waitFor(
      () =>
        slack.messages.find(
          (m) =>
            m.metadata?.event_type === 'gatewatch_verdict' &&
            (m.metadata.event_payload as { incident?: string }).incident === incident,
        ),
      20_000,
    );
  }

  it('posts one root message and one verdict reply, with its state on the master the sentinel names', async () => {
    const res = await sendAlert('PSENINC1', PD_SERVICES.before);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ incident: 'PSENINC1', status: 'queued' });

    const verdict = await verdictFor('PSENINC1');
    expect(verdict.metadata!.event_payload).toMatchObject({ incident: 'PSENINC1', cause: 'upstream_down' });
    const roots = slack.roots();
    expect(roots).toHaveLength(1);
    expect(verdict.thread_ts).toBe(roots[0]!.ts);
    expect(slack.replies(roots[0]!.ts)).toHaveLength(1);

    expect(await masterPortPerSentinel(sentinel.client)).toBe(master.port);
    expect(await masterProbe.hget(`${gw.prefix}:incident:PSENINC1`, 'state')).toBe('diagnosed');
  });

  it('after the master is killed and the replica promoted, the same process takes a new alert to a verdict', async () => {
    // SIGKILL rather than SENTINEL FAILOVER: a dead master is the outage Sentinel exists for, and it
    // gives no graceful demotion to lean on. down-after 1 s with quorum 1 keeps it to a few seconds.
    masterProbe.disconnect();
    await master.stop('SIGKILL');
    masterKilled = true;
    await waitFor(
      async () => (await masterPortPerSentinel(sentinel.client)) === replica.port,
      15_000,
      'sentinel to promote the replica',
    );
    expect(await replica.client.call('ROLE').then((r) => (r as unknown[])[0])).toBe('master');

    // A real sender retries on 503; readiness is the signal that the HTTP side has found the new master.
    await waitFor(
      async () => {
        const r = await request(`${gw.baseUrl}/readyz`);
        await r.body.dump();
        return r.statusCode === 200;
      },
      15_000,
      'gatewatch /readyz after failover',
    );

    const res = await sendAlert('PSENINC2', PD_SERVICES.after);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ incident: 'PSENINC2', status: 'queued' });

    const verdict = await verdictFor('PSENINC2');
    expect(verdict.metadata!.event_payload).toMatchObject({ incident: 'PSENINC2', cause: 'upstream_down' });
    const root = slack.roots().find((m) => m.ts === verdict.thread_ts);
    expect(root).toBeDefined();
    expect(slack.replies(verdict.thread_ts!)).toHaveLength(1);
    expect(slack.roots()).toHaveLength(2);
    expect(await replica.client.hget(`${gw.prefix}:incident:PSENINC2`, 'state')).toBe('diagnosed');
  });
});
