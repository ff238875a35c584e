import { z } from 'zod';
import { isTimeZone } from '../zones.js';
import { titlePatternProblem } from './title-pattern.js';

const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable (secrets never go in playbooks)');

const NO_CREDENTIALS =
  'credentials in a URL (user:pass@) put a secret in the playbook: remove them and name the environment variable that holds them in a `*_env` field (load.authorization_env, database.url_env)';

/** A URL with no userinfo; an unparsable one is left to the URL check to report. */
function withoutCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username === '' && parsed.password === '';
  } catch {
    return true;
  }
}

const httpUrl = z.url({ protocol: /^https?$/ }).refine(withoutCredentials, NO_CREDENTIALS);
const fraction = z.number().gt(0).lte(1);

/** A title rule: RE2 syntax, bounded in size, so matching an alert is linear in its (capped) title. */
const titlePattern = z.string().superRefine((s, ctx) => {
  const problem = titlePatternProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const ProxyCheckSchema = z.strictObject({
  url: httpUrl.optional(),
  samples: z.number().int().min(1).max(50).default(5),
  /** Per sample: a proxy that takes longer than this is itself the finding. */
  timeout_ms: z.number().int().min(50).max(60_000).default(2000),
  error_log: z
    .strictObject({
      path: z.string().min(1),
      format: z.enum(['nginx', 'haproxy', 'envoy']).default('nginx'),
      max_bytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(1024 * 1024),
      /**
       * The zone the proxy stamps its log in (IANA name): nginx and HAProxy write local
       * time with no zone. Without it the log is read in gatewatch's own zone.
       */
      timezone: z
        .string()
        .refine(isTimeZone, 'not an IANA time zone name (e.g. "Europe/Berlin", "UTC")')
        .optional(),
      /** Only lines this recent count: older errors are history, not the incident. */
      window_minutes: z
        .number()
        .int()
        .min(1)
        .max(7 * 24 * 60)
        .default(15),
    })
    .optional(),
});

export const UpstreamCheckSchema = z.strictObject({
  targets: z.array(z.url({ protocol: /^(https?|tcp)$/ }).refine(withoutCredentials, NO_CREDENTIALS)).min(1),
  probes: z.number().int().min(1).max(20).default(3),
  /** Per probe; set it near the proxy's own upstream timeout (nginx proxy_read_timeout) when that is short. */
  timeout_ms: z.number().int().min(50).max(60_000).default(2000),
  expect_status: z.array(z.number().int().min(100).max(599)).optional(),
  tls_insecure: z.boolean().default(false),
});

export const LoadCheckSchema = z.strictObject({
  prometheus: httpUrl.optional(),
  queries: z
    .strictObject({ cpu: z.string().optional(), memory: z.string().optional(), load: z.string().optional() })
    .optional(),
  scrape: z.array(httpUrl).optional(),
  stub_status: z.array(httpUrl).optional(),
  /**
   * The environment variable holding the `Authorization` header value (`Basic …`, `Bearer …`)
   * sent to prometheus, scrape and stub_status: credentials never go in their URLs.
   */
  authorization_env: envName.optional(),
  cores: z.number().positive().default(1),
  /** Memory capacity of one scraped process (its container limit); without it app memory has no fraction. */
  memory_limit_bytes: z.number().int().positive().optional(),
  sample_interval_ms: z.number().int().min(100).max(10_000).default(1000),
  thresholds: z
    .strictObject({
      cpu: fraction.default(0.85),
      memory: fraction.default(0.9),
      /**
       * A Node process whose event loop lags this long (p99 between the two scrapes,
       * prom-client's `nodejs_eventloop_lag_p99_seconds`) is CPU-bound whatever its
       * CPU reading: on a shared host it gets less than a core, yet never idles.
       */
      loop_lag_ms: z.number().positive().default(200),
    })
    .default({ cpu: 0.85, memory: 0.9, loop_lag_ms: 200 }),
});

export const DatabaseCheckSchema = z.strictObject({
  kind: z.enum(['postgres', 'mysql', 'redis']),
  url_env: envName,
  probes: z.number().int().min(1).max(50).default(5),
  long_query_seconds: z.number().positive().default(5),
  thresholds: z
    .strictObject({ p95_ms: z.number().positive().default(100), connections: fraction.default(0.9) })
    .default({ p95_ms: 100, connections: 0.9 }),
});

export const ChangesCheckSchema = z.strictObject({
  window_minutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
  git: z.strictObject({ repo: z.string().min(1), paths: z.array(z.string().min(1)).default([]) }).optional(),
  files: z.array(z.string().min(1)).optional(),
  deploys: z.boolean().default(false),
});

export const ChecksSchema = z.strictObject({
  proxy: ProxyCheckSchema.optional(),
  upstream: UpstreamCheckSchema.optional(),
  load: LoadCheckSchema.optional(),
  database: DatabaseCheckSchema.optional(),
  changes: ChangesCheckSchema.optional(),
});

export const PlaybookSchema = z.strictObject({
  service: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'letters, digits, ".", "_" and "-" only'),
  description: z.string().optional(),
  match: z
    .strictObject({
      pagerduty_services: z.array(z.string().min(1)).optional(),
      labels: z.record(z.string(), z.string()).optional(),
      title: titlePattern.optional(),
    })
    .default({}),
  slack: z
    .strictObject({
      channel: z.string().min(1).optional(),
      allowed_channels: z.array(z.string().min(1)).optional(),
      allowed_usergroups: z.array(z.string().min(1)).optional(),
    })
    .default({}),
  checks: ChecksSchema.default({}),
  timeouts: z
    .strictObject({
      check_ms: z.number().int().min(100).max(120_000).default(5000),
      total_ms: z.number().int().min(100).max(300_000).default(15_000),
    })
    .default({ check_ms: 5000, total_ms: 15_000 }),
});

export type Playbook = z.infer<typeof PlaybookSchema>;
export type ChecksConfig = z.infer<typeof ChecksSchema>;
export type CheckName = keyof ChecksConfig;
export type ProxyCheckConfig = z.infer<typeof ProxyCheckSchema>;
export type UpstreamCheckConfig = z.infer<typeof UpstreamCheckSchema>;
export type LoadCheckConfig = z.infer<typeof LoadCheckSchema>;
export type DatabaseCheckConfig = z.infer<typeof DatabaseCheckSchema>;
export type ChangesCheckConfig = z.infer<typeof ChangesCheckSchema>;

/** The JSON Schema editors use; `playbooks/schema.json` is this, and a test keeps it current. */
export function playbookJsonSchema(): unknown {
  return z.toJSONSchema(PlaybookSchema, { io: 'input', target: 'draft-2020-12' });
}
