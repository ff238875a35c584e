import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Config } from '../config.js';

/**
 * The one Slack Web API client: honours SLACK_API_URL, waits out 429s as told by
 * Retry-After, and retries 5xx and network errors with backoff.
 */
export function createSlackClient(
  config: Pick<Config, 'SLACK_BOT_TOKEN' | 'SLACK_API_URL'>,
  extra: WebClientOptions = {},
): WebClient {
  return new WebClient(config.SLACK_BOT_TOKEN, {
    slackApiUrl: config.SLACK_API_URL,
    retryConfig: { retries: 5, factor: 2, minTimeout: 200, maxTimeout: 5000, randomize: true },
    rejectRateLimitedCalls: false,
    timeout: 10_000,
    ...extra,
  });
}
