import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeSlack } from '../helpers/fake-slack.js';
import {
  type FaultWorld,
  pagerdutyTriggered,
  sendPagerDuty,
  startFaultWorld,
  uniqueNames,
} from '../helpers/gatewatch-process.js';
import { waitFor } from '../helpers/ports.js';
import type { PrivateRedis } from '../helpers/redis.js';
import { hangingUpstream, slowUpstream, type Upstream } from '../helpers/upstreams.js';

/** True when a TCP connection to the port is refused: nothing listens there any more. */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
    s.connect(port, '127.0.0.1');
  });
}

const verdicts = (slack: FakeSlack) =>
  slack.messages.filter((m) => m.metadata?.event_type === 'gatewatch_verdict');

describe('SIGTERM to gatewatch start while a diagnosis runs', () => {
  let redis: PrivateRedis;
  let slack: FakeSlack;
  let world: FaultWorld;

  beforeAll(async () => {
    world = await startFaultWorld({ slack: true });
    ({ redis, slack } = world);
  });

  afterAll(() => world?.stop());

  it('finishes a diagnosis that fits in the bound, posts its verdict, then exits 0', async () => {
    const names = uniqueNames();
    const upstream: Upstream = await slowUpstream(1500);
    world.later(() => upstream.close());
    const pb = world.playbooks([upstream.url], 5000);
    const gw = await world.spawn('start', world.env(names, pb, { SHUTDOWN_TIMEOUT_MS: '15000' }));
    expect((await sendPagerDuty(gw.baseUrl, pagerdutyTriggered(names.incident))).status).toBe(202);
    const before = slack.roots().length;
    await slack.waitFor(() => slack.roots().length > before, 20_000);

    gw.kill('SIGTERM');
    // Intake stops first: the port refuses while the in-flight diagnosis is still allowed to finish.
    await waitFor(() => refuses(gw.port), 5000, 'the HTTP port to close');
    const code = await Promise.race([
      gw.exited,
      new Promise((r) => setTimeout(() => r('still running'), 20_000)),
    ]);
    expect(code, gw.output()).toBe(0);
    const mine = verdicts(slack).filter((m) => m.metadata?.event_payload.incident === names.incident);
    expect(mine).toHaveLength(1);
    expect(gw.output()).toContain('diagnosis done');
    const job = await redis
      .client()
      .hget(`${names.prefix}:gatewatch:diagnose:${names.incident}:1`, 'finishedOn');
    expect(Number(job)).toBeGreaterThan(0);
  });

  it('hands a diagnosis that overruns the bound back to the queue; the next worker posts the one verdict', async () => {
    const names = uniqueNames();
    const upstream = await hangingUpstream();
    let upstreamOpen = true;
    world.later(() => (upstreamOpen ? upstream.close() : undefined));
    const pb = world.playbooks([upstream.url], 20_000);
    const env = world.env(names, pb, { SHUTDOWN_TIMEOUT_MS: '2000' });
    const gw = await world.spawn('start', env);
    const before = slack.roots().length;
    expect((await sendPagerDuty(gw.baseUrl, pagerdutyTriggered(names.incident))).status).toBe(202);
    // The root message goes out before the checks start: from here the probe hangs in flight.
    await slack.waitFor(() => slack.roots().length > before, 20_000);
    const rootsBefore = slack.roots().length;

    gw.kill('SIGTERM');
    const code = await Promise.race([
      gw.exited,
      new Promise((r) => setTimeout(() => r('still running'), 20_000)),
    ]);
    expect(code, gw.output()).toBe(0);
    expect(gw.output()).toContain('job handed back to the queue');
    expect(await refuses(gw.port)).toBe(true);

    // Handed back means waiting again at once, not stuck "active" until its lock runs out.
    const client = redis.client();
    const jobId = `diagnose:${names.incident}:1`;
    expect(await client.lrange(`${names.prefix}:gatewatch:wait`, 0, -1)).toContain(jobId);
    expect(await client.lrange(`${names.prefix}:gatewatch:active`, 0, -1)).not.toContain(jobId);

    await upstream.close();
    upstreamOpen = false;
    await world.spawn('worker', env);
    await slack.waitFor(
      () => verdicts(slack).some((m) => m.metadata?.event_payload.incident === names.incident),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const mine = verdicts(slack).filter((m) => m.metadata?.event_payload.incident === names.incident);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.metadata!.event_payload).toMatchObject({ cause: 'upstream_down' });
    // The recovered run reused the root message posted before the shutdown.
    expect(slack.roots()).toHaveLength(rootsBefore);
  });
});
