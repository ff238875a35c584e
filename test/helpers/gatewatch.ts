import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { type Running, start } from '../../src/main.js';
import { type Playbook, PlaybookSchema } from '../../src/playbooks/schema.js';

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
