import { SocketModeReceiver } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createSlackApp } from '../../src/slack/app.js';
import { InProcessReceiver } from '../../src/slack/receiver.js';

// Slack cannot be reached from the tests: these construct the app (which connects nothing) and look at the
// transport chosen. The HTTP transport is exercised for real in slash-command and interactions tests.
describe('Slack transport', () => {
  it('SLACK_APP_TOKEN selects Socket Mode: no public URL needed', () => {
    const config = loadConfig({ SLACK_APP_TOKEN: 'xapp-1-A0TEST-1-abc', SLACK_BOT_TOKEN: 'xoxb-test' });
    const t = createSlackApp(config);
    expect(t.mode).toBe('socket');
    expect(t.receiver).toBeInstanceOf(SocketModeReceiver);
  });

  it('without it, Slack reaches gatewatch over HTTP on /slack/events', () => {
    const config = loadConfig({ SLACK_SIGNING_SECRET: 'secret', SLACK_BOT_TOKEN: 'xoxb-test' });
    const t = createSlackApp(config);
    expect(t.mode).toBe('http');
    expect(t.receiver).toBeInstanceOf(InProcessReceiver);
  });

  it('works without a bot token too (commands answer in their ack)', () => {
    expect(createSlackApp(loadConfig({ SLACK_SIGNING_SECRET: 'secret' })).mode).toBe('http');
  });
});
