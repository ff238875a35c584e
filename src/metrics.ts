import { createServer, type Server } from 'node:http';
import type { FetchFunction } from '@slack/web-api';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Verdict } from './verdict/types.js';

/** Job counts by state, as BullMQ's `queue.getJobCounts()` returns them. */
export type QueueCounts = () => Promise<Record<string, number>>;

const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'paused'];

/** Every metric gatewatch exports, on one registry made per process in main.ts. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatewatch_' });
  // Set once by main.ts when this process has a queue; read on each scrape so the gauge is never stale.
  let queueCounts: QueueCounts | undefined;
  const metrics = {
    registry,
    webhooks: new Counter({
      name: 'gatewatch_webhooks_total',
      help: 'Webhook requests by source and outcome',
      labelNames: ['source', 'outcome'] as const,
      registers: [registry],
    }),
    ignored: new Counter({
      name: 'gatewatch_alerts_ignored_total',
      help: 'Alerts that were not a known service 502, by source',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    incidents: new Counter({
      name: 'gatewatch_incidents_total',
      help: 'Incidents opened, by service',
      labelNames: ['service'] as const,
      registers: [registry],
    }),
    verdicts: new Counter({
      name: 'gatewatch_verdicts_total',
      help: 'Verdicts by cause and recommendation',
      labelNames: ['cause', 'recommendation'] as const,
      registers: [registry],
    }),
    checkDuration: new Histogram({
      name: 'gatewatch_check_duration_seconds',
      help: 'Check duration by check and status',
      labelNames: ['check', 'status'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'gatewatch_queue_jobs',
      help: 'Jobs in the queue by state (read from Redis at scrape time)',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        if (!queueCounts) return;
        // A scrape during a Redis outage keeps the last values rather than failing the whole scrape.
        const counts = await queueCounts().catch(() => null);
        if (!counts) return;
        for (const state of JOB_STATES) this.set({ state }, counts[state] ?? 0);
      },
    }),
    jobWait: new Histogram({
      name: 'gatewatch_job_wait_seconds',
      help: 'Time a job waited in the queue before a worker took it, by kind',
      labelNames: ['kind'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'gatewatch_job_duration_seconds',
      help: 'Time a worker spent on a job, by kind and outcome',
      labelNames: ['kind', 'outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    slackCalls: new Counter({
      name: 'gatewatch_slack_calls_total',
      help: 'Slack Web API HTTP requests by method and outcome (ok, a Slack error code, http_NNN, network)',
      labelNames: ['method', 'outcome'] as const,
      registers: [registry],
    }),
    slackRateLimited: new Counter({
      name: 'gatewatch_slack_rate_limited_total',
      help: 'Slack answers of 429 Too Many Requests',
      registers: [registry],
    }),
    slackRateLimitWait: new Counter({
      name: 'gatewatch_slack_rate_limit_wait_seconds_total',
      help: 'Seconds spent waiting out Slack rate limits (Retry-After)',
      registers: [registry],
    }),
    /** Reports queue depth on every scrape from this source. */
    watchQueue(counts: QueueCounts): void {
      queueCounts = counts;
    },
    /** A verdict and the duration of each check behind it. */
    observeVerdict(verdict: Verdict): void {
      metrics.verdicts.inc({ cause: verdict.cause, recommendation: verdict.recommendation });
      for (const c of verdict.checks)
        metrics.checkDuration.observe({ check: c.name, status: c.status }, c.duration_ms / 1000);
    },
    /** One finished job, from BullMQ's timestamps (ms since epoch). */
    observeJob(
      job: { name: string; timestamp: number; processedOn?: number; finishedOn?: number; delay?: number },
      outcome: 'completed' | 'failed',
    ): void {
      if (job.processedOn === undefined) return;
      const readyAt = job.timestamp + (job.delay ?? 0);
      metrics.jobWait.observe({ kind: job.name }, Math.max(0, job.processedOn - readyAt) / 1000);
      if (job.finishedOn !== undefined)
        metrics.jobDuration.observe({ kind: job.name, outcome }, (job.finishedOn - job.processedOn) / 1000);
    },
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The Slack method a Web API URL calls (`…/api/chat.postMessage` → `chat.postMessage`). */
function slackMethod(url: string | URL): string {
  const path = typeof url === 'string' ? url : url.pathname;
  return /([a-zA-Z]+\.[a-zA-Z.]+)(?:\?.*)?$/.exec(path)?.[1] ?? 'other';
}

/**
 * A fetch for the Slack WebClient that counts every HTTP attempt (retries
 * included) by method and outcome. It reads a copy of the body, never the token.
 */
export function countingSlackFetch(metrics: Metrics, inner: typeof fetch = fetch): FetchFunction {
  return async (url, init) => {
    const method = slackMethod(url);
    let res: Response;
    try {
      res = await inner(url, init as RequestInit);
    } catch (err) {
      metrics.slackCalls.inc({ method, outcome: 'network' });
      throw err;
    }
    let outcome = `http_${res.status}`;
    if (res.status === 200) {
      const body = (await res
        .clone()
        .json()
        .catch(() => null)) as { ok?: boolean; error?: string } | null;
      outcome = body?.ok ? 'ok' : String(body?.error ?? 'invalid_response').slice(0, 64);
    }
    metrics.slackCalls.inc({ method, outcome });
    return res;
  };
}

/**
 * A tiny HTTP listener for processes that run no webhook server (`gatewatch
 * worker`): /metrics for Prometheus, /healthz and /readyz for orchestrators.
 */
export function serveMetrics(
  metrics: Metrics,
  ready: () => Promise<boolean>,
  opts: { port: number; host: string },
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const reply = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET') return reply(405, '{"error":"use GET"}');
    if (path === '/healthz') return reply(200, '{"status":"ok"}');
    if (path === '/readyz')
      return void ready().then(
        (ok) => reply(ok ? 200 : 503, ok ? '{"status":"ready"}' : '{"status":"unavailable"}'),
        () => reply(503, '{"status":"unavailable"}'),
      );
    if (path === '/metrics')
      return void metrics.registry.metrics().then(
        (text) => reply(200, text, metrics.registry.contentType),
        () => reply(500, '{"error":"metrics unavailable"}'),
      );
    return reply(404, '{"error":"not found"}');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
