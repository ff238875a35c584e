import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../helpers/fake-slack.js';
import { freePort } from '../helpers/ports.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { seed, TWO_WEEKS } from './seed.js';

const run = promisify(execFile);

/** `gatewatch digest …` as a user runs it: a real process with only the environment given here. */
async function digest(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/gatewatch.js', 'digest', ...args], {
      timeout: 30_000,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'silent', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('gatewatch digest', () => {
  let server: PrivateRedis;
  let slack: FakeSlack;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startRedis();
    slack = await new FakeSlack().start();
    const prefix = `{gwcli-${randomBytes(3).toString('hex')}}`;
    await seed(server.client(), prefix, TWO_WEEKS);
    // The seeded weeks are fixed dates; a long retention keeps them however long ago they are.
    env = { REDIS_URL: server.url, REDIS_PREFIX: prefix, DIGEST_TZ: 'UTC', HISTORY_RETENTION_DAYS: '3650' };
  });
  afterAll(async () => {
    await slack.stop();
    await server.destroy();
  });

  it('--week W --print writes the digest of that week to stdout', async () => {
    const res = await digest(['--week', '2026-W10', '--print'], env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toBe('Weekly reliability digest 2026-W10 (2026-03-02 to 2026-03-08, UTC)');
    expect(lines).toContain(
      'Overall: 11 incidents (+7 vs last week) · 1 open · 502 time 5 h 51 min (+3 h 21 min) · MTTA 4 min · MTTR 29 min (-8 min)',
    );
    expect(lines).toContain(
      '- search-api: needed scale-up 3 times (db_saturated, upstream_saturated): plan capacity',
    );
    expect(slack.calls).toHaveLength(0);
  });

  it('a malformed week is a usage error: exit 2, and nothing is read or posted', async () => {
    const res = await digest(['--week', '2026-13', '--print'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('"2026-13" is not an ISO week; expected YYYY-Www');
  });

  it('posts to DIGEST_CHANNEL with its chart, and a repeat a moment later does not post again', async () => {
    const posting = {
      ...env,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_API_URL: slack.url,
      DIGEST_CHANNEL: '#weekly',
    };
    const first = await digest(['--week', '2026-W10'], posting);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('Posted the 2026-W10 digest to #weekly with its chart.\n');
    const second = await digest(['--week', '2026-W10'], posting);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('Not posted: the 2026-W10 digest went to #weekly less than 10 minutes ago.\n');
    expect(slack.callsOf('chat.postMessage').map((c) => c.args.channel)).toEqual(['#weekly']);
    expect(slack.callsOf('files.completeUploadExternal')).toHaveLength(1);
    expect(slack.roots()[0]?.text).toContain('11 incidents (+7 vs last week)');
  });

  it('without a bot token it will not pretend to post (exit 2); without Redis it fails (exit 1)', async () => {
    const noToken = await digest(['--week', '2026-W10'], env);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('--print');
    const noRedis = await digest(['--print'], { ...env, REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr).toContain('Redis (REDIS_URL) is not reachable');
  });
});
