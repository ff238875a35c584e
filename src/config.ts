import cron from 'cron-parser';
import { z } from 'zod';
import { GatewatchError } from './errors.js';
import { isTimeZone } from './zones.js';

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().min(1)));

const optionalSecret = z.string().min(1).optional();

const httpUrl = z.url({ protocol: /^https?$/ });

/** The environment gatewatch reads, as the contract lists it. Validated once, at start. */
export const ConfigSchema = z.object({
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z.string().min(1).default('{gatewatch}'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PLAYBOOKS_DIR: z.string().min(1).default('./playbooks'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SLACK_BOT_TOKEN: optionalSecret,
  SLACK_SIGNING_SECRET: optionalSecret,
  SLACK_APP_TOKEN: optionalSecret,
  SLACK_API_URL: httpUrl.default('https://slack.com/api/'),
  SLACK_CHANNEL: z.string().min(1).default('#incidents'),
  PAGERDUTY_WEBHOOK_SECRETS: csv.optional(),
  PAGERDUTY_API_TOKEN: optionalSecret,
  PAGERDUTY_API_URL: httpUrl.default('https://api.pagerduty.com/'),
  /** Email of a PagerDuty user: the `From` header that account-level API tokens require. */
  PAGERDUTY_FROM: z.email().optional(),
  ALERTMANAGER_TOKEN: optionalSecret,
  /** Bearer token of Grafana's webhook contact point; without it Grafana sends ALERTMANAGER_TOKEN. */
  GRAFANA_TOKEN: optionalSecret,
  GATEWATCH_WEBHOOK_SECRET: optionalSecret,
  DIGEST_CRON: z
    .string()
    .default('0 9 * * 1')
    .refine((expr) => {
      try {
        // The same parser BullMQ's job scheduler uses, so what passes here schedules there.
        cron.parseExpression(expr);
        return true;
      } catch {
        return false;
      }
    }, 'not a valid cron expression (e.g. "0 9 * * 1")'),
  DIGEST_TZ: z.string().default('UTC').refine(isTimeZone, 'not a known IANA time zone'),
  DIGEST_CHANNEL: z.string().min(1).optional(),
  HISTORY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  /** BullMQ job lock; a crashed worker's job is recovered after about lock + stalled interval. */
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  WORKER_STALLED_MS: z.coerce.number().int().min(500).max(600_000).default(15_000),
  /** How long SIGTERM waits for in-flight jobs before handing them back to the queue. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(20_000),
  /** Redis Cluster seed nodes, `host:port,host:port`; when set, REDIS_URL only supplies credentials. */
  REDIS_CLUSTER_NODES: csv.optional(),
  /** Redis Sentinel, `host:port,host:port`, with the master group name. */
  REDIS_SENTINELS: csv.optional(),
  REDIS_SENTINEL_NAME: z.string().min(1).default('mymaster'),
  /** A verdict younger than this is told to an upstream incident that joins; an older one gets a fresh diagnosis. */
  VERDICT_FRESH_MS: z.coerce.number().int().min(0).max(86_400_000).default(120_000),
  /** After a `recovered` verdict, an incident with no new alert for this long ends by itself. */
  INCIDENT_QUIET_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(7 * 86_400_000)
    .default(30 * 60_000),
  /** An incident open longer than this ends by itself, however it is going (a lost resolve never mutes a service). */
  INCIDENT_MAX_AGE_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(30 * 86_400_000)
    .default(24 * 3_600_000),
  /** How often workers look for incidents to end (quiet, max age). */
  INCIDENT_SWEEP_MS: z.coerce.number().int().min(200).max(3_600_000).default(60_000),
  /** Worker-only processes expose /metrics, /healthz and /readyz on this port when set. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Reads the configuration from an environment; a bad value throws naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in a docker-compose file with `FOO=`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ConfigSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`);
    throw new GatewatchError('CONFIG_INVALID', `invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = parsed.data;
  if (!config.SLACK_API_URL.endsWith('/')) config.SLACK_API_URL += '/';
  if (!config.PAGERDUTY_API_URL.endsWith('/')) config.PAGERDUTY_API_URL += '/';
  return config;
}
