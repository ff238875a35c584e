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
import { refusingUpstream } from '../helpers/upstreams.js';

describe('Redis killed and restarted with AOF', () => {
  let redis: PrivateRedis;
  let slack: FakeSlack;
  let pb: { dir: string; remove(): void };
  let world: FaultWorld;

  beforeAll(async () => {
    // appendfsync always: each write is on disk before Redis answers, so even SIGKILL loses nothing acknowledged.
    world = await startFaultWorld({
      redis: { appendonly: true, args: ['--appendfsync', 'always'] },
      slack: true,
    });
    ({ redis, slack } = world);
    pb = world.playbooks([(await refusingUpstream()).url], 1000);
  });

  afterAll(() => world?.stop());

  it('keeps the acknowledged incident and its queued job, which a worker then diagnoses', async () => {
    const names = uniqueNames();
    const env = world.env(names, pb);
    const serve = await world.spawn('serve', env);
    const sent = await sendPagerDuty(serve.baseUrl, pagerdutyTriggered(names.incident));
    expect(sent.status, serve.output()).toBe(202);

    await redis.stop('SIGKILL');
    await redis.restart();

    const client = redis.client();
    const incident = await client.hgetall(`${names.prefix}:incident:${names.incident}`);
    expect(incident).toMatchObject({ id: names.incident, service: 'fault-api', state: 'triggered' });
    const waiting = await client.lrange(`${names.prefix}:gatewatch:wait`, 0, -1);
    expect(waiting).toContain(`diagnose:${names.incident}:1`);

    // The job is whole, not just an id: a worker started now picks it up and posts the verdict.
    await world.spawn('worker', env);
    const verdict = await slack.waitFor(
      () => slack.messages.find((m) => m.metadata?.event_type === 'gatewatch_verdict'),
      30_000,
    );
    expect(verdict.metadata!.event_payload).toMatchObject({
      incident: names.incident,
      cause: 'upstream_down',
    });

    // The server reconnected on its own: the same process takes a new alert.
    const again = await waitFor(
      async () => {
        const r = await sendPagerDuty(serve.baseUrl, pagerdutyTriggered(`${names.incident}B`));
        return r.status === 202 ? r : null;
      },
      15_000,
      'the server to take alerts again',
    );
    // Another PagerDuty incident of the open one's service joins it and is told its fresh verdict.
    expect(again.body).toMatchObject({ incident: names.incident, status: 'updated' });
  });
});
