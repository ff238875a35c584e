import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../helpers/fake-slack.js';
import { waitFor } from '../helpers/ports.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { refusingUpstream } from '../helpers/upstreams.js';
import {
  type GatewatchProcess,
  pagerdutyTriggered,
  playbooksDir,
  sendPagerDuty,
  spawnGatewatch,
  uniqueNames,
} from './world.js';

describe('Redis killed and restarted with AOF', () => {
  let redis: PrivateRedis;
  let slack: FakeSlack;
  let pb: { dir: string; remove(): void };
  const procs: GatewatchProcess[] = [];

  beforeAll(async () => {
    // appendfsync always: each write is on disk before Redis answers, so even SIGKILL loses nothing acknowledged.
    redis = await startRedis({ appendonly: true, args: ['--appendfsync', 'always'] });
    slack = await new FakeSlack().start();
    pb = playbooksDir([(await refusingUpstream()).url], 1000);
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await slack.stop();
    await redis.destroy();
    pb.remove();
  });

  it('keeps the acknowledged incident and its queued job, which a worker then diagnoses', async () => {
    const names = uniqueNames();
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: names.prefix,
      PLAYBOOKS_DIR: pb.dir,
      SLACK_BOT_TOKEN: 'xoxb-fault-test',
      SLACK_API_URL: slack.url,
    };
    const serve = await spawnGatewatch('serve', env);
    procs.push(serve);
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
    const worker = await spawnGatewatch('worker', env);
    procs.push(worker);
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
