import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger, scrubSecrets } from '../../src/log.js';
import { type Running, start } from '../../src/main.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { playbook } from '../helpers/gatewatch.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { pagerdutyTriggered, postPagerDuty } from '../helpers/signed.js';
import { refusingUpstream } from '../helpers/upstreams.js';

const PD_SECRET = 'pd-webhook-secret-Q7ZK2';
const SLACK_TOKEN = 'xoxb-000111-secret-slack-token-M9';
const REDIS_PASSWORD = 'redis-pw-V4X8';
const DB_PASSWORD = 'db-pw-H3N5';
const SECRETS = [PD_SECRET, SLACK_TOKEN, REDIS_PASSWORD, DB_PASSWORD];

/** A pino destination that keeps every line, as JSON, for the assertions. */
function captured() {
  const lines: string[] = [];
  return {
    lines,
    stream: {
      write(s: string) {
        lines.push(...s.split('\n').filter(Boolean));
      },
    },
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logs', () => {
  let redis: PrivateRedis;
  let slack: FakeSlack;
  let running: Running;
  const out = captured();

  beforeAll(async () => {
    redis = await startRedis();
    const admin = redis.client();
    await admin.config('SET', 'requirepass', REDIS_PASSWORD);
    admin.disconnect();
    slack = await new FakeSlack().start();
    const dead = await refusingUpstream();
    const env = {
      REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`,
      REDIS_PREFIX: '{gwlogs}',
      HOST: '127.0.0.1',
      PORT: '0',
      PAGERDUTY_WEBHOOK_SECRETS: PD_SECRET,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: slack.url,
      LOGS_DB_URL: `postgres://gatewatch:${DB_PASSWORD}@127.0.0.1:1/app`,
    };
    running = await start({
      config: loadConfig(env),
      log: createLogger({ level: 'debug', destination: out.stream }),
      env,
      serve: true,
      work: true,
      playbooks: new Map([
        [
          'logs-api',
          playbook({
            service: 'logs-api',
            match: { pagerduty_services: ['PLOGS01'] },
            checks: { upstream: { targets: [dead.url], probes: 1, timeout_ms: 1000 } },
          }),
        ],
      ]),
    });
    const body = pagerdutyTriggered('PLOGSINC1', 'PLOGS01');
    const bad = await request(`http://127.0.0.1:${running.port}/webhooks/pagerduty`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pagerduty-signature': 'v1=deadbeef' },
      body,
    });
    await bad.body.dump();
    const res = await postPagerDuty(`http://127.0.0.1:${running.port}`, body, PD_SECRET);
    expect(res.statusCode).toBe(202);
    await res.body.dump();
    await slack.waitFor(
      () => slack.messages.find((m) => m.metadata?.event_type === 'gatewatch_verdict'),
      30_000,
    );
    // Let the last lines of the job (root update, completion) be written.
    await new Promise((r) => setTimeout(r, 500));
  });

  afterAll(async () => {
    await running?.close();
    await slack?.stop();
    await redis?.destroy();
  });

  it('are JSON, and the lines of a processed incident carry its incident and job ids', () => {
    const records = out.records();
    expect(records.length).toBeGreaterThan(3);
    const done = records.find((r) => r.msg === 'diagnosis done');
    expect(done).toMatchObject({
      incident: 'PLOGSINC1',
      job: 'diagnose:PLOGSINC1:1',
      cause: 'upstream_down',
    });
    expect(typeof done?.time).toBe('string');
  });

  it("log a storm's repeats at debug: at info an incident's alerts read as the one that opened it", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await postPagerDuty(
        `http://127.0.0.1:${running.port}`,
        pagerdutyTriggered('PLOGSINC1', 'PLOGS01'),
        PD_SECRET,
      );
      expect(res.statusCode).toBe(202);
      await res.body.dump();
    }
    const ingested = out.records().filter((r) => r.msg === 'alert ingested' && r.incident === 'PLOGSINC1');
    // pino's levels: debug 20, info 30.
    expect(ingested.filter((r) => r.level === 30).map((r) => r.status)).toEqual(['queued']);
    expect(ingested.filter((r) => r.level === 20).map((r) => r.status)).toEqual(Array(5).fill('duplicate'));
  });

  it('never contain a secret: webhook secret, Slack token, Redis password, database DSN', () => {
    const text = out.lines.join('\n');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });

  it('mask secrets quoted inside messages and errors', () => {
    const local = captured();
    const log = createLogger({ destination: local.stream });
    log.error(
      { err: new Error(`connect ECONNREFUSED postgres://app:${DB_PASSWORD}@db:5432/x`), token: SLACK_TOKEN },
      `cannot reach redis://default:${REDIS_PASSWORD}@cache:6379 with Authorization: Bearer ${PD_SECRET}`,
    );
    log.warn(`slack said invalid_auth for ${SLACK_TOKEN}`);
    const text = local.lines.join('\n');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(text).toContain('postgres://app:[redacted]@db:5432/x');
    expect(scrubSecrets('https://example.com/path?q=1')).toBe('https://example.com/path?q=1');
  });
});
