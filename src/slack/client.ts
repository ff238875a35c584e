import { type WebAPICallResult, WebClient, type WebClientOptions } from '@slack/web-api';
import type { Config } from '../config.js';
import { errorMessage, GatewatchError } from '../errors.js';
import type { Logger } from '../log.js';

type SlackLogger = NonNullable<WebClientOptions['logger']>;
type SlackLogLevel = ReturnType<SlackLogger['getLevel']>;

/** The WebClient's logger interface over pino, so its rate-limit notices are JSON lines like every other. */
function slackLogger(log: Logger): SlackLogger {
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  let level = 'info' as SlackLogLevel;
  return {
    debug: (...msg) => log.debug(text(msg)),
    info: (...msg) => log.info(text(msg)),
    warn: (...msg) => log.warn(text(msg)),
    error: (...msg) => log.error(text(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/**
 * The one Slack Web API client: honours SLACK_API_URL, waits out 429s as told by
 * Retry-After, and retries 5xx and network errors with backoff.
 */
export function createSlackClient(
  config: Pick<Config, 'SLACK_BOT_TOKEN' | 'SLACK_API_URL'>,
  extra: WebClientOptions = {},
  log?: Logger,
): WebClient {
  return new WebClient(config.SLACK_BOT_TOKEN, {
    slackApiUrl: config.SLACK_API_URL,
    ...(log ? { logger: slackLogger(log.child({ component: 'slack-web-api' })) } : {}),
    retryConfig: { retries: 5, factor: 2, minTimeout: 200, maxTimeout: 5000, randomize: true },
    rejectRateLimitedCalls: false,
    timeout: 10_000,
    ...extra,
  });
}

/**
 * `ok:false` answers that mean "not now" rather than "never": the WebClient
 * treats every ok:false as final, so these are retried here. Nothing was
 * posted when Slack answered one of them, so a retry cannot duplicate.
 */
const TRANSIENT = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

function slackErrorCode(err: unknown): string | undefined {
  const data = (err as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/**
 * One Web API call with gatewatch's error policy: transient ok:false answers are
 * retried with backoff; what still fails becomes a GatewatchError('SLACK_API')
 * that says whether a later retry (a job retry) can help.
 */
export async function callSlack<T extends WebAPICallResult>(
  what: string,
  fn: () => Promise<T>,
  opts: { attempts?: number; baseDelayMs?: number } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const base = opts.baseDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = slackErrorCode(err);
      const transient = code === undefined || TRANSIENT.has(code);
      if (code !== undefined && transient && attempt < attempts) {
        await new Promise((r) => setTimeout(r, base * 2 ** (attempt - 1)));
        continue;
      }
      throw new GatewatchError('SLACK_API', `Slack ${what} failed: ${code ?? errorMessage(err)}`, {
        cause: err,
        retryable: transient,
        details: { method: what, ...(code ? { slackError: code } : {}) },
      });
    }
  }
}
