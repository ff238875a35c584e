import { randomBytes } from 'node:crypto';
import { Queue, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDigestHandler } from '../../src/digest/job.js';
import { formatWeek, lastCompleteWeek, weekRange } from '../../src/digest/week.js';
import { silentLogger } from '../../src/log.js';
import { type Running, start } from '../../src/main.js';
import { JobQueue } from '../../src/queue/jobs.js';
import { createWorker } from '../../src/queue/worker.js';
import { createSlackClient } from '../../src/slack/client.js';
import { runGatewayCommand } from '../../src/slack/commands.js';
import { IncidentStore } from '../../src/store/store.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { lifecycle } from '../helpers/lifecycle.js';
import { waitFor } from '../helpers/ports.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { seed, TWO_WEEKS } from './seed.js';

const NOW = new Date('2026-03-09T00:30:00Z');

function unique(kind: string) {
  return {
    prefix: `{gw${kind}-${randomBytes(3).toString('hex')}}`,
    queueName: `q-${randomBytes(4).toString('hex')}`,
  };
}

async function completedDigests(queue: Queue): Promise<unknown[]> {
  const jobs = await queue.getJobs(['completed']);
  return jobs.filter((j) => j.name === 'digest').map((j) => j.returnvalue);
}

describe('one digest per period, however many workers', () => {
  let server: PrivateRedis;
  let slack: FakeSlack;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    server = await startRedis();
    slack = await new FakeSlack().start();
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    await slack.stop();
    await server.destroy();
  });

  it('two BullMQ workers and a schedule firing every second: Slack receives exactly one digest', async () => {
    const { prefix, queueName } = unique('sched');
    const seeding = server.client();
    await seed(seeding, prefix, TWO_WEEKS);
    const workers: Worker[] = [];
    const queues: JobQueue[] = [];
    for (let n = 0; n < 2; n++) {
      // Each "process" has its own connection, store, handler, worker, and upserts the schedule.
      const conn: Redis = server.client();
      const store = new IncidentStore(conn, prefix);
      const digest = createDigestHandler({
        store,
        redis: conn,
        prefix,
        slack: createSlackClient({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: slack.url }),
        channel: '#reliability',
        tz: 'UTC',
        now: () => NOW,
      });
      const worker = createWorker(
        conn,
        prefix,
        { ...lifecycle(store), playbooks: new Map(), env: {}, digest },
        { queueName, concurrency: 2 },
      );
      workers.push(worker);
      const jobs = new JobQueue(conn, prefix, queueName);
      queues.push(jobs);
      await jobs.scheduleDigest('* * * * * *', 'UTC');
      closers.push(
        () => worker.close(),
        () => jobs.close(),
      );
    }
    const queue = queues[0]!.queue;
    expect(await queue.getJobSchedulers()).toHaveLength(1);

    const results = await waitFor(
      async () => {
        const done = await completedDigests(queue);
        return done.length >= 3 && done;
      },
      30_000,
      'three digest iterations',
    );
    await queue.removeJobScheduler('weekly-digest');
    expect(results.filter((r) => (r as { posted: boolean }).posted)).toHaveLength(1);
    expect(
      results.filter((r) => (r as { reason?: string }).reason === 'already-posted').length,
    ).toBeGreaterThanOrEqual(2);
    const digests = slack.roots().filter((m) => m.text.startsWith('Weekly reliability digest 2026-W10'));
    expect(digests).toHaveLength(1);
    expect(
      slack.callsOf('files.completeUploadExternal').filter((c) => c.args.thread_ts === digests[0]!.ts),
    ).toHaveLength(1);
  });

  it('/gateway digest posts into the channel it was typed in, and a double request posts once', async () => {
    const { prefix, queueName } = unique('cmd');
    const conn = server.client();
    await seed(conn, prefix, TWO_WEEKS);
    const store = new IncidentStore(conn, prefix);
    const jobs = new JobQueue(conn, prefix, queueName);
    const worker = createWorker(
      conn,
      prefix,
      {
        ...lifecycle(store),
        playbooks: new Map(),
        env: {},
        digest: createDigestHandler({
          store,
          redis: conn,
          prefix,
          slack: createSlackClient({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: slack.url }),
          channel: '#reliability',
          tz: 'UTC',
          now: () => NOW,
        }),
      },
      { queueName },
    );
    closers.push(
      () => worker.close(),
      () => jobs.close(),
    );
    const cmd = { text: 'digest', channel_id: 'C0TEAMROOM', user_id: 'U0ONCALL' };
    const deps = { store, jobs, playbooks: new Map(), log: silentLogger() };
    const reply = await runGatewayCommand(cmd, deps);
    expect(reply.text).toContain('weekly digest');
    await runGatewayCommand(cmd, deps);
    const done = await waitFor(
      async () => {
        const d = await completedDigests(jobs.queue);
        return d.length >= 2 && d;
      },
      20_000,
      'both requests handled',
    );
    expect(done.filter((r) => (r as { posted: boolean }).posted)).toHaveLength(1);
    const inRoom = slack.roots().filter((m) => m.channel === 'C0TEAMROOM');
    expect(inRoom).toHaveLength(1);
    expect(inRoom[0]!.text).toContain('11 incidents');
  });

  it('the composition root schedules the digest on DIGEST_CRON in DIGEST_TZ, once for two worker processes', async () => {
    const { prefix, queueName } = unique('main');
    const now = new Date();
    const range = weekRange(lastCompleteWeek(now, 'Europe/Berlin'), 'Europe/Berlin');
    // One incident on the Wednesday of the last complete week, resolved after 25 minutes.
    const onset = new Date(range.start.getTime() + 2.5 * 24 * 3600_000);
    await seed(server.client(), prefix, [
      {
        id: 'w1',
        service: 'checkout-api',
        onset: onset.toISOString(),
        resolved: new Date(onset.getTime() + 25 * 60_000).toISOString(),
        cause: 'upstream_down',
      },
    ]);
    const config = loadConfig({
      REDIS_URL: server.url,
      REDIS_PREFIX: prefix,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_API_URL: slack.url,
      SLACK_CHANNEL: '#incidents',
      DIGEST_CHANNEL: '#weekly',
      DIGEST_CRON: '* * * * * *',
      DIGEST_TZ: 'Europe/Berlin',
    });
    const processes: Running[] = [];
    for (let n = 0; n < 2; n++) {
      const running = await start({
        config,
        log: silentLogger(),
        work: true,
        serve: false,
        playbooks: new Map(),
        queueName,
      });
      processes.push(running);
      closers.push(() => running.close());
    }
    const queue = new Queue(queueName, { connection: server.client(), prefix });
    closers.push(() => queue.close());
    // Workers also schedule the lifecycle sweep; the digest has one schedule of its own.
    const schedulers = await waitFor(async () => {
      const found = (await queue.getJobSchedulers()).filter((s) => s.key === 'weekly-digest');
      return found.length > 0 && found;
    });
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({
      key: 'weekly-digest',
      pattern: '* * * * * *',
      tz: 'Europe/Berlin',
    });
    await waitFor(async () => (await completedDigests(queue)).length >= 3, 30_000, 'three digest iterations');
    await queue.removeJobScheduler('weekly-digest');
    const week = formatWeek(lastCompleteWeek(now, 'Europe/Berlin'));
    const posts = slack
      .callsOf('chat.postMessage')
      .filter((c) => String(c.args.text).includes(`digest ${week}`));
    expect(posts.map((c) => c.args.channel)).toEqual(['#weekly']);
    const mine = slack.roots().filter((m) => m.text.startsWith(`Weekly reliability digest ${week}`));
    expect(mine[0]!.text).toContain('1 incident (');
    expect(mine[0]!.text).toContain('502 time 25 min');
  });

  it('the default DIGEST_CRON in a time zone fires next on a Monday at 09:00 local time', async () => {
    const { prefix, queueName } = unique('cron');
    const jobs = new JobQueue(server.client(), prefix, queueName);
    closers.push(() => jobs.close());
    await jobs.scheduleDigest(loadConfig({}).DIGEST_CRON, 'America/New_York');
    const [scheduler] = await jobs.queue.getJobSchedulers();
    const next = new Date(Number(scheduler?.next));
    const local = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(next);
    expect(local).toBe('Mon 09:00');
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(7 * 24 * 3600_000);
  });
});
