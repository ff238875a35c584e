import { Queue } from 'bullmq';
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
import { hangingUpstream, type Upstream } from '../helpers/upstreams.js';

const verdicts = (slack: FakeSlack) =>
  slack.messages.filter((m) => m.metadata?.event_type === 'gatewatch_verdict');

describe('a worker killed with SIGKILL mid-diagnosis', () => {
  let redis: PrivateRedis;
  let slack: FakeSlack;
  let upstream: Upstream & { openConnections(): number };
  let pb: { dir: string; remove(): void };
  let world: FaultWorld;

  beforeAll(async () => {
    world = await startFaultWorld({ slack: true });
    ({ redis, slack } = world);
    upstream = await hangingUpstream();
    pb = world.playbooks([upstream.url], 20_000);
    world.later(() => upstream.close());
  });

  afterAll(() => world?.stop());

  it('is recovered by another worker, which posts exactly one verdict', async () => {
    const names = uniqueNames();
    // Short locks so a dead worker's job comes back in seconds rather than the production 30 s.
    const env = world.env(names, pb, { WORKER_LOCK_MS: '2000', WORKER_STALLED_MS: '1000' });
    const serve = await world.spawn('serve', env);
    const first = await world.spawn('worker', env);

    const sent = await sendPagerDuty(serve.baseUrl, pagerdutyTriggered(names.incident));
    expect(sent.status, serve.output()).toBe(202);
    expect(sent.body).toMatchObject({ incident: names.incident, status: 'queued' });

    // The root message is posted before the checks start; the hanging upstream holding a
    // connection says the probe is in flight, so the worker dies mid-diagnosis.
    await slack.waitFor(() => slack.roots().length === 1, 30_000);
    await waitFor(() => upstream.openConnections() >= 1, 30_000, 'the probe to reach the hanging upstream');
    expect(verdicts(slack)).toHaveLength(0);
    first.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    // The upstream is now plainly down (refused), so the recovered diagnosis finishes fast.
    await upstream.close();
    const second = await world.spawn('worker', env);

    await slack.waitFor(() => verdicts(slack).length >= 1, 40_000);
    // The diagnosis job completed: BullMQ never runs a completed job again, so whatever
    // recovery could post has been posted by now.
    const queue = new Queue(names.queue, { connection: redis.client(), prefix: names.prefix });
    try {
      await waitFor(
        async () => (await queue.getJob(`diagnose:${names.incident}:1`))?.finishedOn !== undefined,
        20_000,
        'the recovered diagnosis job to finish',
      );
      expect(await (await queue.getJob(`diagnose:${names.incident}:1`))?.getState()).toBe('completed');
    } finally {
      await queue.close();
    }
    expect(verdicts(slack)).toHaveLength(1);
    expect(slack.roots()).toHaveLength(1);
    expect(verdicts(slack)[0]!.thread_ts).toBe(slack.roots()[0]!.ts);
    expect(verdicts(slack)[0]!.metadata!.event_payload).toMatchObject({
      incident: names.incident,
      cause: 'upstream_down',
      recommendation: 'fix',
    });

    const client = redis.client();
    const state = await waitFor(
      async () => {
        const s = await client.hget(`${names.prefix}:incident:${names.incident}`, 'state');
        return s === 'diagnosed' ? s : null;
      },
      10_000,
      'incident to be diagnosed',
    );
    expect(state).toBe('diagnosed');
    expect(second.output()).toContain('diagnosis done');
  });
});
