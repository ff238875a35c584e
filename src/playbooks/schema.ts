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

/** Credentials for a remote endpoint, each the NAME of the variable that holds it (never the value). */
const remoteAuth = {
  /** `Authorization: Bearer …` */
  token_env: envName.optional(),
  /** HTTP Basic: the user name is not a secret, the password is. */
  username: z.string().min(1).max(256).optional(),
  password_env: envName.optional(),
};

function basicNeedsBoth(v: { username?: string; password_env?: string }, ctx: z.RefinementCtx) {
  if ((v.username === undefined) !== (v.password_env === undefined))
    ctx.addIssue({
      code: 'custom',
      path: [v.username === undefined ? 'username' : 'password_env'],
      message: 'HTTP Basic needs both username and password_env',
    });
}

export const LokiSourceSchema = z
  .strictObject({
    url: httpUrl,
    /** A LogQL log query (selector plus optional line filters), e.g. `{job="nginx"} |= "upstream"`. */
    query: z.string().min(3).max(4096),
    ...remoteAuth,
    /** X-Scope-OrgID of a multi-tenant Loki; `tenant_env` when the tenant id itself is kept secret. */
    tenant: z.string().min(1).max(256).optional(),
    tenant_env: envName.optional(),
    /** Entries asked for; Loki's own default cap (max_entries_limit_per_query) is 5000. */
    limit: z.number().int().min(1).max(5000).default(1000),
  })
  .superRefine(basicNeedsBoth);

export const ElasticsearchSourceSchema = z
  .strictObject({
    url: httpUrl,
    /** Index, data stream or pattern (comma lists allowed): `filebeat-*`, `logs-nginx.error-*`. */
    index: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[^\s/?#]+$/, 'an index name or pattern, without spaces, "/", "?" or "#"')
      .refine((s) => s !== '.' && s !== '..', 'an index name or pattern, not "." or ".."'),
    /** A query_string (Lucene syntax) ANDed with the incident window, e.g. `event.dataset:nginx.error`. */
    query: z.string().min(1).max(4096).optional(),
    ...remoteAuth,
    /** `Authorization: ApiKey …`, the encoded id:key Elasticsearch hands out. */
    api_key_env: envName.optional(),
    /** Hits asked for (`size`); from + size may not pass index.max_result_window (10,000). */
    limit: z.number().int().min(1).max(10_000).default(500),
    time_field: z.string().min(1).max(256).default('@timestamp'),
    /**
     * Where the log line is. Filebeat/Elastic Agent keep nginx's text after the
     * time/level/pid prefix in `message` and store the time and level apart.
     */
    message_field: z.string().min(1).max(256).default('message'),
  })
  .superRefine(basicNeedsBoth);

const LOG_SOURCES = ['file', 'loki', 'elasticsearch'] as const;

export const ProxyErrorLogSchema = z
  .strictObject({
    /** Exactly one source; `path` alone means `source: file`. */
    source: z.enum(LOG_SOURCES).optional(),
    path: z.string().min(1).optional(),
    loki: LokiSourceSchema.optional(),
    elasticsearch: ElasticsearchSourceSchema.optional(),
    format: z.enum(['nginx', 'haproxy', 'envoy', 'ingress-nginx']).default('nginx'),
    /** Bytes read at most: the file's tail, or a log store's answer. */
    max_bytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /**
     * The zone the proxy stamps its log in (IANA name): nginx and HAProxy write local
     * time with no zone. Without it the log is read in gatewatch's own zone. A log
     * store's own timestamps need none.
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
    /**
     * How long the log must have been quiet since its last upstream error before
     * "no 502s now" counts as recovered (intermittent 502s leave gaps).
     */
    quiet_minutes: z
      .number()
      .min(0.01)
      .max(24 * 60)
      .default(5),
  })
  .superRefine((v, ctx) => {
    const source = v.source ?? 'file';
    const given = {
      file: v.path !== undefined,
      loki: v.loki !== undefined,
      elasticsearch: !!v.elasticsearch,
    };
    const field = (s: (typeof LOG_SOURCES)[number]) => (s === 'file' ? 'path' : s);
    if (!given[source])
      ctx.addIssue({
        code: 'custom',
        path: [field(source)],
        message: `source ${source} needs ${field(source)}${v.source === undefined ? ' (without source, the log is a file: give path, or name the source)' : ''}`,
      });
    for (const other of LOG_SOURCES)
      if (other !== source && given[other])
        ctx.addIssue({
          code: 'custom',
          path: [field(other)],
          message: `exactly one source: ${field(other)} given, but source is ${source}`,
        });
  });

export const ProxyStatsSchema = z
  .strictObject({
    kind: z.enum(['haproxy', 'caddy', 'envoy', 'traefik']),
    /**
     * HAProxy: the stats page with `;csv`, or its Prometheus endpoint. Caddy: the admin
     * endpoint (`/reverse_proxy/upstreams` and `/metrics` are read from it). Envoy: the
     * admin endpoint (`/clusters`, `/stats`). Traefik: its metrics endpoint.
     */
    url: httpUrl,
    /** The backend / cluster / service name as that proxy calls it; all of them without it. */
    backend: z.string().min(1).max(256).optional(),
    ...remoteAuth,
    /** Counters are read twice this far apart, for rates. */
    sample_interval_ms: z.number().int().min(100).max(10_000).default(1000),
    /** Bytes read at most per answer; a bigger answer is cut and the evidence says so. */
    max_bytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(4 * 1024 * 1024),
  })
  .superRefine(basicNeedsBoth);

export const ProxyCheckSchema = z.strictObject({
  url: httpUrl.optional(),
  samples: z.number().int().min(1).max(50).default(5),
  /** Per sample and per remote read: a proxy that takes longer than this is itself the finding. */
  timeout_ms: z.number().int().min(50).max(60_000).default(2000),
  /** The sample request: 502s that only POSTs get (a proxy retries only idempotent requests) are invisible to GETs. */
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  /** Extra request headers (a Host for a virtual host, an Accept); never credentials (they would sit in the playbook). */
  headers: z
    .record(
      z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'a header name'),
      z
        .string()
        .max(4096)
        .regex(/^[^\r\n]*$/, 'one line'),
    )
    .refine((h) => !Object.keys(h).some((k) => /^(authorization|cookie|proxy-authorization)$/i.test(k)), {
      message: 'credentials never go in playbooks',
    })
    .optional(),
  /** A request body for POST/PUT/PATCH samples. */
  body: z
    .string()
    .max(64 * 1024)
    .optional(),
  error_log: ProxyErrorLogSchema.optional(),
  /** The proxy's own view of its upstreams; without upstream.targets, the upstreams are learned here. */
  stats: ProxyStatsSchema.optional(),
});

/** An http(s)/tcp URL, or `unix:/path` for an upstream on a unix socket (php-fpm, uWSGI, gunicorn). */
const upstreamTarget = z.string().superRefine((target, ctx) => {
  if (target.startsWith('unix:')) {
    if (!/^unix:\/\S+$/.test(target))
      ctx.addIssue({ code: 'custom', message: 'a unix socket target is unix:/absolute/path' });
    return;
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'not a URL: http(s)://host:port/path, tcp://host:port or unix:/path',
    });
    return;
  }
  if (!/^(https?|tcp):$/.test(url.protocol))
    ctx.addIssue({
      code: 'custom',
      message: `${url.protocol} targets are not probed: http, https, tcp or unix`,
    });
  if (!withoutCredentials(target)) ctx.addIssue({ code: 'custom', message: NO_CREDENTIALS });
});

export const UpstreamCheckSchema = z.strictObject({
  targets: z.array(upstreamTarget).min(1),
  /** The app's own downstream HTTP dependencies (an auth service, a payment API): probed the same way. */
  dependencies: z
    .array(z.url({ protocol: /^https?$/ }).refine(withoutCredentials, NO_CREDENTIALS))
    .optional(),
  probes: z.number().int().min(1).max(20).default(3),
  /** Per probe; set it near the proxy's own upstream timeout (nginx proxy_read_timeout) when that is short. */
  timeout_ms: z.number().int().min(50).max(60_000).default(2000),
  expect_status: z.array(z.number().int().min(100).max(599)).optional(),
  tls_insecure: z.boolean().default(false),
  /** A PEM CA bundle that signs the targets' certificates (an internal CA), for https targets. */
  ca_file: z.string().min(1).optional(),
  /** Probe over HTTP/2 (ALPN h2) when the target offers it, as a proxy speaking HTTP/2 upstream would. */
  http2: z.boolean().optional(),
});

export const LoadCheckSchema = z.strictObject({
  prometheus: httpUrl.optional(),
  /**
   * PromQL label matchers naming this service's instances (`job="checkout"`,
   * `instance=~"10.0.1.1[12]:9100"`), added to every default query (and put where
   * a custom query says `$selector`). Default: the upstream targets' hosts.
   */
  selector: z.string().min(1).max(1000).optional(),
  queries: z
    .strictObject({ cpu: z.string().optional(), memory: z.string().optional(), load: z.string().optional() })
    .optional(),
  scrape: z.array(httpUrl).optional(),
  stub_status: z.array(httpUrl).optional(),
  /**
   * How long a scrape may take before the instance counts as busy or hung: set it near the
   * proxy's own upstream timeout. An endpoint that does not answer in it is evidence (its
   * requests do not answer either), and the check does not wait for it any longer.
   */
  timeout_ms: z.number().int().min(100).max(60_000).optional(),
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
  /**
   * What the service calls this database (`orders`, `sessions-cache`): evidence and verdicts name it.
   * Default: its `url_env`. Each database of a list needs its own name.
   */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, ".", "_" and "-", up to 63')
    .optional(),
  kind: z.enum(['postgres', 'mysql', 'redis']),
  url_env: envName,
  probes: z.number().int().min(1).max(50).default(5),
  long_query_seconds: z.number().positive().default(5),
  /**
   * How long a login or a probe query may take before the database counts as stuck. A hang
   * longer than the proxy's own upstream timeout is already the finding: set it near that
   * (nginx proxy_read_timeout) and the verdict does not wait for the whole check budget.
   */
  timeout_ms: z.number().int().min(50).max(60_000).optional(),
  /** The database host's CPUs: more sessions running at once than this means its CPU is saturated. */
  cores: z.number().positive().optional(),
  thresholds: z
    .strictObject({ p95_ms: z.number().positive().default(100), connections: fraction.default(0.9) })
    .default({ p95_ms: 100, connections: 0.9 }),
});

/**
 * `database:` one database (the original form), or a list of them when the service uses
 * several (a PostgreSQL and a Redis cache): each is probed in parallel and reported by name.
 */
export const DatabasesCheckSchema = z.union([
  DatabaseCheckSchema,
  z
    .array(DatabaseCheckSchema)
    .min(1)
    .max(10)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((db, i) => {
        const name = db.name ?? db.url_env;
        if (seen.has(name))
          ctx.addIssue({
            code: 'custom',
            path: [i, db.name ? 'name' : 'url_env'],
            message: `two databases are both called ${name}: give each its own \`name\``,
          });
        seen.add(name);
      });
    }),
]);

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

/** A DNS-1123 name, as Kubernetes requires of namespaces and object names. */
const kubeName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes name: lower-case letters, digits, "-" and "."');

export const KubernetesCheckSchema = z
  .strictObject({
    namespace: kubeName,
    /** The Service whose EndpointSlices the proxy routes to. */
    service: kubeName.optional(),
    /** A label selector for the pods (`app=checkout,tier=api`), when there is no Service or to narrow it. */
    selector: z
      .string()
      .min(1)
      .max(1000)
      .regex(/^[A-Za-z0-9_./=!,() -]+$/, 'a label selector such as app=checkout,tier!=canary')
      .optional(),
    /** The Deployment behind the pods; found from the pods' owners when not named. */
    deployment: kubeName.optional(),
    hpa: kubeName.optional(),
    /** The variable holding the kubeconfig path; without it the in-cluster service account, then $KUBECONFIG. */
    kubeconfig_env: envName.optional(),
    /** The kubeconfig context to use (default: its current-context). */
    context: z.string().min(1).max(253).optional(),
    /** Per API request. */
    timeout_ms: z.number().int().min(100).max(60_000).default(3000),
    /** OOM kills, restarts, events and rollouts this recent count as the incident's. */
    window_minutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(60),
    /** A pod whose memory working set is at least this share of its limit is at the limit. */
    memory_threshold: fraction.default(0.9),
  })
  .refine((k) => k.service !== undefined || k.selector !== undefined || k.deployment !== undefined, {
    message: 'name a service, a selector or a deployment',
  });

/** `instance=~"(10\\.0\\.1\\.11|web-2)(:[0-9]+)?"`: the upstream targets' hosts, any exporter port. */
export function selectorForTargets(targets: readonly string[]): string | undefined {
  const hosts = [
    ...new Set(
      targets
        .filter((t) => !t.startsWith('unix:'))
        .map((t) => new URL(t).hostname.replace(/^\[|\]$/g, ''))
        .map((h) => h.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&')),
    ),
  ];
  return hosts.length ? `instance=~"(${hosts.join('|')})(:[0-9]+)?"` : undefined;
}

export const ChecksSchema = z
  .strictObject({
    proxy: ProxyCheckSchema.optional(),
    upstream: UpstreamCheckSchema.optional(),
    load: LoadCheckSchema.optional(),
    database: DatabasesCheckSchema.optional(),
    changes: ChangesCheckSchema.optional(),
    kubernetes: KubernetesCheckSchema.optional(),
  })
  // Prometheus knows every node it scrapes; this service's are its upstream targets' hosts.
  .transform((checks) =>
    checks.load?.prometheus && !checks.load.selector && checks.upstream
      ? { ...checks, load: { ...checks.load, selector: selectorForTargets(checks.upstream.targets) } }
      : checks,
  );

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
export type ProxyErrorLogConfig = z.infer<typeof ProxyErrorLogSchema>;
export type ProxyStatsConfig = z.infer<typeof ProxyStatsSchema>;
export type LokiSourceConfig = z.infer<typeof LokiSourceSchema>;
export type ElasticsearchSourceConfig = z.infer<typeof ElasticsearchSourceSchema>;
export type UpstreamCheckConfig = z.infer<typeof UpstreamCheckSchema>;
export type LoadCheckConfig = z.infer<typeof LoadCheckSchema>;
export type DatabaseCheckConfig = z.infer<typeof DatabaseCheckSchema>;
export type ChangesCheckConfig = z.infer<typeof ChangesCheckSchema>;
export type KubernetesCheckConfig = z.infer<typeof KubernetesCheckSchema>;

/** The JSON Schema editors use; `playbooks/schema.json` is this, and a test keeps it current. */
export function playbookJsonSchema(): unknown {
  return z.toJSONSchema(PlaybookSchema, { io: 'input', target: 'draft-2020-12' });
}
