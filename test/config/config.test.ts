import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('configuration from the environment', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig({});
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.HOST).toBe('0.0.0.0');
    expect(c.PORT).toBe(3000);
    expect(c.PLAYBOOKS_DIR).toBe('./playbooks');
    expect(c.DIGEST_CRON).toBe('0 9 * * 1');
    expect(c.DIGEST_TZ).toBe('UTC');
    expect(c.SLACK_API_URL).toBe('https://slack.com/api/');
  });

  it('splits PagerDuty secrets on commas for rotation', () => {
    expect(loadConfig({ PAGERDUTY_WEBHOOK_SECRETS: 'a, b,,c' }).PAGERDUTY_WEBHOOK_SECRETS).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it.each([
    ['PORT', 'eighty'],
    ['REDIS_URL', 'http://not-redis'],
    ['DIGEST_TZ', 'Mars/Olympus'],
    ['SLACK_API_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['DIGEST_CRON', 'every monday'],
  ])('names %s when its value is bad', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}:`));
  });

  it('exits 2 naming the variable when a server starts with bad configuration', () => {
    const res = spawnSync(process.execPath, ['bin/gatewatch.js', 'serve'], {
      env: { ...process.env, PORT: 'eighty', SLACK_BOT_TOKEN: 'xoxb-secret-token-value' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/PORT/);
    expect(res.stderr).not.toContain('xoxb-secret-token-value');
  });
});
