import { type Logger, pino } from 'pino';

export type { Logger };

/** Paths pino blanks out wherever they appear, so a secret never reaches a log line. */
export const REDACT_PATHS = [
  'token',
  'secret',
  'password',
  'authorization',
  'url_env_value',
  '*.token',
  '*.secret',
  '*.password',
  '*.authorization',
  '*.signingSecret',
  '*.botToken',
  '*.appToken',
  'headers.authorization',
  'headers["x-pagerduty-signature"]',
  'headers["x-slack-signature"]',
  'headers["x-gatewatch-signature"]',
  'config.SLACK_BOT_TOKEN',
  'config.SLACK_SIGNING_SECRET',
  'config.SLACK_APP_TOKEN',
  'config.PAGERDUTY_WEBHOOK_SECRETS',
  'config.PAGERDUTY_API_TOKEN',
  'config.ALERTMANAGER_TOKEN',
  'config.GATEWATCH_WEBHOOK_SECRET',
  'config.REDIS_URL',
];

export function createLogger(opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    base: { app: 'gatewatch' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options, pino.destination(2));
}

/** A logger that drops everything: for plain functions called by tests and the CLI's --json mode. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
