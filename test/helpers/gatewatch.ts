import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { type Running, start } from '../../src/main.js';
import { type Playbook, PlaybookSchema } from '../../src/playbooks/schema.js';
import { FakeSlack } from './fake-slack.js';
import { type PrivateRedis, startRedis } from './redis.js';

export const PD_SECRET = 'test-pagerduty-secret';
export const SLACK_SECRET = 'test-slack-signing-secret';
export const WEBHOOK_SECRET = 'test-generic-secret';
export const AM_TOKEN = 'test-alertmanager-token';

export function playbook(input: unknown): Playbook {
  return PlaybookSchema.parse(input);
}

export interface TestGatewatch extends Running {
  baseUrl: string;
  prefix: string;
  queueName: string;
}

/** Runs gatewatch in-process against a private Redis and a fake Slack, with a unique prefix and queue. */
export async function startGatewatch(opts: {
  redisUrl: string;
  slackUrl?: string;
  playbooks: Playbook[];
  serve?: boolean;
  work?: boolean;
  env?: Record<string, string>;
  /** Reuse another instance's keys and queue (a restart); fresh ones by default. */
  prefix?: string;
  queueName?: string;
}): Promise<TestGatewatch> {
  const prefix = opts.prefix ?? `{gwtest-${randomBytes(4).toString('hex')}}`;
  const queueName = opts.queueName ?? `q-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    REDIS_URL: opts.redisUrl,
    REDIS_PREFIX: prefix,
    HOST: '127.0.0.1',
    PORT: '0',
    PAGERDUTY_WEBHOOK_SECRETS: `other-secret,${PD_SECRET}`,
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    GATEWATCH_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ALERTMANAGER_TOKEN: AM_TOKEN,
    SLACK_CHANNEL: '#incidents',
    ...(opts.slackUrl ? { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: opts.slackUrl } : {}),
    ...opts.env,
  });
  const running = await start({
    config,
    log: silentLogger(),
    serve: opts.serve ?? true,
    work: opts.work ?? true,
    playbooks: new Map(opts.playbooks.map((p) => [p.service, p])),
    queueName,
    env: { ...process.env, ...opts.env },
  });
  return {
    ...running,
    close: () => running.close(),
    baseUrl: `http://127.0.0.1:${running.port}`,
    prefix,
    queueName,
  };
}

export interface GatewatchWorld {
  redis: PrivateRedis;
  /** The fake Slack gatewatch posts to; only when started with `slack: true`. */
  slack: FakeSlack;
  gw: TestGatewatch;
  /** Runs when the world stops, latest first: after gatewatch closes, before Slack and Redis go. */
  later(cleanup: () => unknown): void;
  stop(): Promise<void>;
}

/**
 * The world most HTTP and queue tests need: a private Redis, a fake Slack when asked,
 * and gatewatch in-process on them (see `startGatewatch` for the options).
 */
export async function startGatewatchWorld(
  opts: Omit<Parameters<typeof startGatewatch>[0], 'redisUrl' | 'slackUrl'> & {
    slack?: boolean;
    redis?: Parameters<typeof startRedis>[0];
  },
): Promise<GatewatchWorld> {
  const { slack: withSlack, redis: redisOpts, ...gwOpts } = opts;
  const redis = await startRedis(redisOpts);
  const slack = withSlack ? await new FakeSlack().start() : undefined;
  const cleanups: (() => unknown)[] = [];
  const gw = await startGatewatch({ ...gwOpts, redisUrl: redis.url, slackUrl: slack?.url }).catch(
    async (err: unknown) => {
      await slack?.stop();
      await redis.destroy();
      throw err;
    },
  );
  return {
    redis,
    get slack() {
      if (!slack) throw new Error('this world was started without a fake Slack');
      return slack;
    },
    gw,
    later: (cleanup) => void cleanups.push(cleanup),
    async stop() {
      await gw.close();
      for (const c of cleanups.reverse()) await c();
      await slack?.stop();
      await redis.destroy();
    },
  };
}
