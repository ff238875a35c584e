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
  'config.GRAFANA_TOKEN',
  'config.GATEWATCH_WEBHOOK_SECRET',
  'config.REDIS_URL',
  'dsn',
  '*.dsn',
  '*.headers.authorization',
  '*.headers["x-pagerduty-signature"]',
  '*.headers["x-slack-signature"]',
  '*.headers["x-gatewatch-signature"]',
];

/** Credentials inside free text: URL userinfo, Slack tokens, bearer tokens, key=value secrets. */
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^:@\s/]*):([^@\s/]+)@/gi, '$1$2:[redacted]@'],
  [/\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{4,}/g, '[redacted-slack-token]'],
  [/\b(bearer\s+)[^\s"',;]+/gi, '$1[redacted]'],
  [/\b((?:password|passwd|secret|token|api[_-]?key)\s*[=:]\s*)[^\s"',;&]+/gi, '$1[redacted]'],
];

/** Masks secrets that slipped into a string (an error message quoting a DSN, a URL with a password). */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const [re, replacement] of SECRET_PATTERNS) out = out.replace(re, replacement);
  return out;
}

function scrubDeep(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (depth <= 0 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth - 1));
  if (value instanceof Error) return scrubSecrets(value.stack ?? value.message);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, depth - 1);
  return out;
}

export function createLogger(opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    base: { app: 'gatewatch' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Path redaction catches known fields; scrubbing catches secrets quoted inside messages and errors.
    formatters: { log: (obj) => scrubDeep(obj, 6) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        const clean = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a));
        return method.apply(this, clean as Parameters<typeof method>);
      },
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options, pino.destination(2));
}

/** A logger that drops everything: for plain functions called by tests and the CLI's --json mode. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
