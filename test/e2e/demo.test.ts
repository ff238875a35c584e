import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';

const run = promisify(execFile);

describe("the README's main command: npm run demo", () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.destroy();
  });

  it('breaks an upstream, sends a signed alert and prints the thread with the verdict', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'demo'], {
      env: { ...process.env, REDIS_URL: redis.url, SLACK_BOT_TOKEN: '' },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/answers 202 \{"incident":"PFQZPSY","status":"queued"\}/);
    expect(stdout).toContain('thread reply');
    expect(stdout).toMatch(/FIX\b/);
    expect(stdout).toMatch(
      /Every upstream target \(127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+\) refuses connections/,
    );
    expect(stdout).toContain('"cause":"upstream_down","recommendation":"fix"');
    // It cleans up after itself: nothing of the demo is left in the Redis it used.
    expect(await redis.client().keys('*gatewatch-demo*')).toEqual([]);
  });

  it('without a Redis it says exactly how to get one', async () => {
    const port = await freePort();
    const err = await run(process.execPath, ['bin/gatewatch.js', 'demo'], {
      env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${port}` },
      timeout: 30_000,
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr).toMatch(
      /needs a Redis server[\s\S]*apt-get install -y redis-server/,
    );
  });
});
