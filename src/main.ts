import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import type { Worker } from 'bullmq';
import type { Config } from './config.js';
import { createHttpServer } from './http/server.js';
import { ingestAlerts } from './ingest/ingest.js';
import { IncidentStore } from './ingest/store.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { loadPlaybooks, type PlaybookSet } from './playbooks/load.js';
import { JobQueue } from './queue/jobs.js';
import { createWorker } from './queue/worker.js';
import { createRedis, redisAnswers, whenReady } from './redis.js';
import { createSlackClient } from './slack/client.js';
import { registerCommands } from './slack/commands.js';
import { handleSlackRequest } from './slack/http.js';
import { InProcessReceiver } from './slack/receiver.js';
import { SlackThread } from './slack/thread.js';
import { SOURCES } from './sources/registry.js';

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

  const slackClient = config.SLACK_BOT_TOKEN ? createSlackClient(config) : null;

  if (opts.work) {
    const redis = createRedis(config.REDIS_URL, 'worker');
    const store = new IncidentStore(redis, config.REDIS_PREFIX, config.HISTORY_RETENTION_DAYS);
    const slack = slackClient
      ? new SlackThread({ client: slackClient, store, defaultChannel: config.SLACK_CHANNEL, log })
      : null;
    if (!slack) log.warn('SLACK_BOT_TOKEN is not set: verdicts are logged, not posted');
    const worker = createWorker(
      redis,
      config.REDIS_PREFIX,
      {
        store,
        playbooks,
        slack,
        log,
        env,
        redis,
        keyPrefix: config.REDIS_PREFIX,
        onVerdict: (v) => metrics.verdicts.inc({ cause: v.cause, recommendation: v.recommendation }),
      },
      { concurrency: config.WORKER_CONCURRENCY, queueName: opts.queueName },
    );
    running.worker = worker;
    closers.push(() => redis.quit());
    closers.push(() => worker.close());
  }

  if (opts.serve) {
    const redis = createRedis(config.REDIS_URL, 'http');
    // Serve even while Redis is down (webhooks answer 503, /readyz says why), but give it a moment first.
    if (!(await whenReady(redis, 2000)))
      log.warn('Redis is not reachable yet; webhooks answer 503 until it is');
    const store = new IncidentStore(redis, config.REDIS_PREFIX, config.HISTORY_RETENTION_DAYS);
    const jobs = new JobQueue(redis, config.REDIS_PREFIX, opts.queueName);
    const receiver = new InProcessReceiver();
    if (config.SLACK_SIGNING_SECRET) {
      const app = new App({
        receiver,
        token: config.SLACK_BOT_TOKEN,
        tokenVerificationEnabled: false,
        clientOptions: { slackApiUrl: config.SLACK_API_URL },
        logLevel: LogLevel.ERROR,
      });
      registerCommands(app, { store, jobs, playbooks, log });
    }
    const server = createHttpServer({
      config,
      sources: SOURCES,
      ingest: (alerts) =>
        ingestAlerts(alerts, {
          store,
          jobs,
          playbooks,
          log,
          onIgnored: (source) => metrics.ignored.inc({ source }),
        }),
      deliveries: {
        seen: (s, id) => store.seenDelivery(s, id),
        remember: (s, id, a) => store.rememberDelivery(s, id, a),
      },
      slack: config.SLACK_SIGNING_SECRET
        ? (req, type) =>
            handleSlackRequest(req, type, {
              signingSecret: config.SLACK_SIGNING_SECRET,
              receiver,
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
    log.info(
      { port: running.port, host: config.HOST, services: [...playbooks.keys()] },
      'gatewatch listening',
    );
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
  return running;
}
