import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebClient, WebClientEvent } from '@slack/web-api';
import type { Worker } from 'bullmq';
import type { Config } from './config.js';
import { createDigestHandler } from './digest/job.js';
import { createHttpServer } from './http/server.js';
import { createChangesHook } from './ingest/changes-hook.js';
import { DeliveryLog } from './ingest/deliveries.js';
import { type IngestDeps, ingestDelivery } from './ingest/ingest.js';
import type { Logger } from './log.js';
import { countingSlackFetch, createMetrics, type Metrics, serveMetrics } from './metrics.js';
import { createNotifier } from './notify/notifier.js';
import { PagerDutyClient } from './pagerduty/client.js';
import { loadPlaybooks, type PlaybookSet } from './playbooks/load.js';
import { JobQueue } from './queue/jobs.js';
import { createWorker } from './queue/worker.js';
import { connectRedis, redisAnswers, whenReady } from './redis.js';
import { gracefulWorker } from './shutdown.js';
import type { SlackTransport } from './slack/app.js';
import { createSlackClient } from './slack/client.js';
import { registerCommands } from './slack/commands.js';
import { handleSlackRequest } from './slack/http.js';
import { registerInteractions } from './slack/interactions.js';
import { POST_CLIENT_OPTIONS, PostingIntents } from './slack/outbox.js';
import { SlackThread } from './slack/thread.js';
import { SOURCES } from './sources/registry.js';
import { ChangeEventStore } from './store/change-events.js';
import { IncidentStore } from './store/store.js';

const DAY_S = 24 * 3600;

export interface Running {
  /** The port the HTTP server listens on (when this process serves). */
  port?: number;
  server?: Server;
  worker?: Worker;
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  log: Logger;
  env?: Readonly<Record<string, string | undefined>>;
  serve?: boolean;
  work?: boolean;
  playbooks?: PlaybookSet;
  metrics?: Metrics;
  queueName?: string;
}

/** The composition root: every long-lived object is made here and nowhere else. */
export async function start(opts: StartOptions): Promise<Running> {
  const { config, log } = opts;
  const env = opts.env ?? process.env;
  const playbooks = opts.playbooks ?? (await loadPlaybooks(config.PLAYBOOKS_DIR));
  const metrics = opts.metrics ?? createMetrics();
  const closers: (() => Promise<unknown>)[] = [];
  const running: Running = {
    async close() {
      for (const c of closers.reverse())
        await c().catch((err) => log.warn({ err: String(err) }, 'close failed'));
    },
  };

  const slackClient = config.SLACK_BOT_TOKEN
    ? createSlackClient(config, { fetch: countingSlackFetch(metrics) }, log)
    : null;
  // Posts go through a client that never retries on its own: a lost answer is looked up in Slack
  // before posting again (src/slack/outbox.ts), so a retry cannot duplicate a message.
  const slackPostClient = config.SLACK_BOT_TOKEN
    ? createSlackClient(config, { fetch: countingSlackFetch(metrics), ...POST_CLIENT_OPTIONS }, log)
    : null;
  for (const client of [slackClient, slackPostClient])
    client?.on(WebClientEvent.RATE_LIMITED, (retrySec: number) => {
      metrics.slackRateLimited.inc();
      metrics.slackRateLimitWait.inc(retrySec);
    });

  const pagerduty = config.PAGERDUTY_API_TOKEN
    ? new PagerDutyClient({
        token: config.PAGERDUTY_API_TOKEN,
        baseUrl: config.PAGERDUTY_API_URL,
        from: config.PAGERDUTY_FROM,
        log,
      })
    : null;

  const shared: Shared = {
    config,
    log,
    env,
    playbooks,
    metrics,
    slackClient,
    slackPostClient,
    pagerduty,
    closers,
    running,
    queueName: opts.queueName,
    alsoServes: Boolean(opts.serve),
  };
  if (opts.work) await startWorkers(shared);
  if (opts.serve) await startServer(shared);
  return running;
}

/** What both halves of a process share: made once in `start`. */
interface Shared {
  config: Config;
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
  playbooks: PlaybookSet;
  metrics: Metrics;
  slackClient: WebClient | null;
  slackPostClient: WebClient | null;
  pagerduty: PagerDutyClient | null;
  closers: (() => Promise<unknown>)[];
  running: Running;
  queueName?: string;
  alsoServes: boolean;
}

/** The queue side: diagnosis, Slack posting and the digest, with graceful hand-back on shutdown. */
async function startWorkers(shared: Shared): Promise<void> {
  const { config, log, env, playbooks, metrics, slackClient, slackPostClient, pagerduty, closers, running } =
    shared;
  const redis = connectRedis(config, 'worker');
  const store = new IncidentStore(redis, config.REDIS_PREFIX, config.HISTORY_RETENTION_DAYS);
  const slack = slackClient
    ? new SlackThread({
        client: slackClient,
        postClient: slackPostClient ?? undefined,
        store,
        intents: new PostingIntents(redis, config.REDIS_PREFIX, config.HISTORY_RETENTION_DAYS * DAY_S),
        defaultChannel: config.SLACK_CHANNEL,
        log,
      })
    : null;
  if (!slack) log.warn('SLACK_BOT_TOKEN is not set: verdicts are logged, not posted');
  const worker = createWorker(
    redis,
    config.REDIS_PREFIX,
    {
      store,
      playbooks,
      notifier: createNotifier({ store, slack, pagerduty, log }),
      endRules: { quietMs: config.INCIDENT_QUIET_MS, maxAgeMs: config.INCIDENT_MAX_AGE_MS },
      log,
      env,
      redis,
      keyPrefix: config.REDIS_PREFIX,
      changeEvents: new ChangeEventStore(redis, config.REDIS_PREFIX),
      onVerdict: (v) => metrics.observeVerdict(v),
      digest: createDigestHandler({
        store,
        redis,
        prefix: config.REDIS_PREFIX,
        slack: slackClient,
        channel: config.DIGEST_CHANNEL ?? config.SLACK_CHANNEL,
        tz: config.DIGEST_TZ,
      }),
    },
    {
      concurrency: config.WORKER_CONCURRENCY,
      queueName: shared.queueName,
      lockMs: config.WORKER_LOCK_MS,
      stalledIntervalMs: config.WORKER_STALLED_MS,
    },
  );
  worker.on('completed', (job) => metrics.observeJob(job, 'completed'));
  worker.on('failed', (job) => job && metrics.observeJob(job, 'failed'));
  const shutdown = gracefulWorker(worker, log);
  running.worker = worker;
  closers.push(() => redis.quit());
  closers.push(() => shutdown.close(config.SHUTDOWN_TIMEOUT_MS));
  // Every worker upserts the same schedule; BullMQ makes one digest job per period of it.
  // Not awaited: a worker started while Redis is down schedules once Redis is back.
  const digestSchedule = new JobQueue(redis, config.REDIS_PREFIX, shared.queueName, log);
  digestSchedule
    .scheduleDigest(config.DIGEST_CRON, config.DIGEST_TZ)
    .catch((err: unknown) =>
      log.error({ err: String(err), cron: config.DIGEST_CRON }, 'could not schedule the weekly digest'),
    );
  digestSchedule
    .scheduleSweep(config.INCIDENT_SWEEP_MS)
    .catch((err: unknown) => log.error({ err: String(err) }, 'could not schedule the lifecycle sweep'));
  closers.push(() => digestSchedule.close());
  if (!shared.alsoServes && config.METRICS_PORT !== undefined) {
    const depth = new JobQueue(redis, config.REDIS_PREFIX, shared.queueName, log);
    metrics.watchQueue(() => depth.queue.getJobCounts());
    const metricsServer = await serveMetrics(metrics, () => redisAnswers(redis), {
      port: config.METRICS_PORT,
      host: config.HOST,
    });
    running.port = (metricsServer.address() as AddressInfo).port;
    log.info({ port: running.port }, 'worker metrics listening');
    closers.push(() => depth.close());
    closers.push(() => new Promise<void>((resolve) => metricsServer.close(() => resolve())));
  }
}

/** The HTTP side: webhooks, Slack requests (or Socket Mode), health and metrics. */
async function startServer(shared: Shared): Promise<void> {
  const { config, log, playbooks, metrics, pagerduty, closers, running } = shared;
  const redis = connectRedis(config, 'http');
  // Serve even while Redis is down (webhooks answer 503, /readyz says why), but give it a moment first.
  if (!(await whenReady(redis, 2000)))
    log.warn('Redis is not reachable yet; webhooks answer 503 until it is');
  const store = new IncidentStore(redis, config.REDIS_PREFIX, config.HISTORY_RETENTION_DAYS);
  const jobs = new JobQueue(redis, config.REDIS_PREFIX, shared.queueName, log);
  metrics.watchQueue(() => jobs.queue.getJobCounts());
  // Socket Mode when SLACK_APP_TOKEN is set, else Slack's HTTP requests on /slack/events.
  const slackApp: SlackTransport | null =
    // Bolt is loaded only where Slack requests are served: workers never carry it.
    config.SLACK_APP_TOKEN || config.SLACK_SIGNING_SECRET
      ? (await import('./slack/app.js')).createSlackApp(config)
      : null;
  if (slackApp) {
    registerCommands(slackApp.app, { store, jobs, playbooks, log });
    registerInteractions(slackApp.app, { store, jobs, playbooks, pagerduty, log });
  }
  const ingestDeps: IngestDeps = {
    store,
    jobs,
    playbooks,
    log,
    freshVerdictMs: config.VERDICT_FRESH_MS,
    onIgnored: (source) => metrics.ignored.inc({ source }),
    onQueued: (service) => metrics.incidents.inc({ service }),
    deliveries: new DeliveryLog(redis, config.REDIS_PREFIX),
  };
  const server = createHttpServer({
    config,
    sources: SOURCES,
    ingest: (alerts, delivery) => ingestDelivery(alerts, delivery, ingestDeps),
    extraWebhooks: {
      changes: createChangesHook({
        secret: config.GATEWATCH_WEBHOOK_SECRET,
        store: new ChangeEventStore(redis, config.REDIS_PREFIX),
        services: playbooks,
        log,
      }),
    },
    slack:
      slackApp?.mode === 'http'
        ? (req, type) =>
            handleSlackRequest(req, type, {
              signingSecret: config.SLACK_SIGNING_SECRET,
              receiver: slackApp.receiver,
              now: Date.now,
            })
        : undefined,
    ready: () => redisAnswers(redis),
    metrics,
    log,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  running.server = server;
  running.port = (server.address() as AddressInfo).port;
  if (slackApp?.mode === 'socket') {
    await slackApp.app.start();
    closers.push(() => slackApp.app.stop());
    log.info('Slack connected over Socket Mode');
  }
  log.info({ port: running.port, host: config.HOST, services: [...playbooks.keys()] }, 'gatewatch listening');
  closers.push(() => redis.quit());
  closers.push(() => jobs.close());
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  );
}
