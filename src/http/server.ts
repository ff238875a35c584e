import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { type ErrorCode, errorMessage, GatewatchError, isGatewatchError } from '../errors.js';
import type { Delivery } from '../ingest/deliveries.js';
import type { IngestAnswer } from '../ingest/ingest.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SlackHttpAnswer } from '../slack/receiver.js';
import type { Alert, AlertSource, InboundRequest } from '../sources/types.js';
import { mediaType, parseJson, readBody } from './body.js';

export interface HttpDeps {
  config: Config;
  sources: Readonly<Record<string, AlertSource>>;
  /**
   * Open or join incidents for the alerts, once per sender's delivery id (a retry is answered as the
   * first one was); rejects when Redis cannot take them.
   */
  ingest: (alerts: Alert[], delivery?: Delivery) => Promise<IngestAnswer>;
  /**
   * Extra JSON routes under /webhooks/ that are not alert sources (the changes hook).
   * `json` is the parsed body; `req.body` keeps the raw bytes for checking a signature.
   */
  extraWebhooks?: Readonly<
    Record<
      string,
      {
        contentTypes: readonly string[];
        handle(req: InboundRequest, json: unknown): Promise<{ status: number; body: unknown }>;
      }
    >
  >;
  slack?: (req: InboundRequest, contentType: string) => Promise<SlackHttpAnswer>;
  ready: () => Promise<boolean>;
  metrics: Metrics;
  log: Logger;
  now?: () => number;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  QUEUE_UNAVAILABLE: 503,
  REDIS_UNAVAILABLE: 503,
};

/** Redis must answer within this, or the sender gets 503 and retries (never a hung webhook). */
export const QUEUE_DEADLINE_MS = 2000;
/** How long a retry waits for the same delivery in flight to be answered, inside the deadline. */
const DELIVERY_WAIT_MS = 1500;

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' && contentType !== 'application/json' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new GatewatchError('QUEUE_UNAVAILABLE', `the queue did not answer within ${ms} ms`)),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err) => {
        clearTimeout(t);
        reject(
          isGatewatchError(err)
            ? err
            : new GatewatchError('QUEUE_UNAVAILABLE', `the queue is unavailable: ${errorMessage(err)}`, {
                cause: err,
              }),
        );
      },
    );
  });
}

async function handleSource(
  source: AlertSource,
  req: IncomingMessage,
  deps: HttpDeps,
): Promise<{ status: number; body: unknown }> {
  const type = mediaType(req);
  if (!source.contentTypes.includes(type))
    throw new GatewatchError(
      'UNSUPPORTED_MEDIA_TYPE',
      `content type must be ${source.contentTypes.join(' or ')}, not "${type || 'none'}"`,
    );
  const inbound: InboundRequest = { headers: req.headers, body: await readBody(req) };
  const nowMs = deps.now?.() ?? Date.now();
  // Authenticate before parsing: an unauthenticated body is never interpreted.
  source.authenticate(inbound, deps.config, nowMs);
  const parsed = source.parse(parseJson(inbound.body), inbound, nowMs);
  if ('ignored' in parsed) {
    deps.metrics.ignored.inc({ source: source.name });
    return { status: 200, body: { ignored: parsed.ignored } };
  }
  const id = parsed.deliveryId;
  const delivery = id ? { source: source.name, id, waitMs: DELIVERY_WAIT_MS } : undefined;
  return withDeadline(deps.ingest(parsed.alerts, delivery), QUEUE_DEADLINE_MS);
}

/** A plain path, as senders use, is its own pathname: no URL object to build for each webhook. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_-]+)+$/;

function pathOf(url: string): string {
  return PLAIN_PATH.test(url) ? url : new URL(url, 'http://localhost').pathname;
}

/** One HTTP listener for webhooks, Slack, health and metrics. A thin shell: each route calls plain functions. */
export function createRequestListener(deps: HttpDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathOf(req.url ?? '/');
    let label = 'other';
    try {
      if (req.method === 'GET' && path === '/healthz') return send(res, 200, { status: 'ok' });
      if (req.method === 'GET' && path === '/readyz') {
        const ok = await deps.ready().catch(() => false);
        return send(
          res,
          ok ? 200 : 503,
          ok ? { status: 'ready' } : { status: 'unavailable', error: 'Redis is unreachable' },
        );
      }
      if (req.method === 'GET' && path === '/metrics') {
        const text = await deps.metrics.registry.metrics();
        return send(res, 200, text, deps.metrics.registry.contentType);
      }
      if (path === '/slack/events') {
        label = 'slack';
        if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });
        if (!deps.slack) throw new GatewatchError('UNAUTHORIZED', 'Slack is not configured on this server');
        const type = mediaType(req);
        if (type !== 'application/json' && type !== 'application/x-www-form-urlencoded')
          throw new GatewatchError(
            'UNSUPPORTED_MEDIA_TYPE',
            `content type ${type || 'none'} is not one Slack sends`,
          );
        const answer = await deps.slack({ headers: req.headers, body: await readBody(req) }, type);
        return send(res, answer.status, answer.body, answer.contentType);
      }
      const hook = /^\/webhooks\/([a-z0-9-]+)$/.exec(path)?.[1];
      if (hook) {
        label = hook;
        if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });
        const source = deps.sources[hook];
        const extra = deps.extraWebhooks?.[hook];
        let answer: { status: number; body: unknown };
        if (source) answer = await handleSource(source, req, deps);
        else if (extra) {
          const type = mediaType(req);
          if (!extra.contentTypes.includes(type))
            throw new GatewatchError(
              'UNSUPPORTED_MEDIA_TYPE',
              `content type must be ${extra.contentTypes.join(' or ')}`,
            );
          const inbound = { headers: req.headers, body: await readBody(req) };
          answer = await withDeadline(extra.handle(inbound, parseJson(inbound.body)), QUEUE_DEADLINE_MS);
        } else return send(res, 404, { error: `no webhook source "${hook}"` });
        deps.metrics.webhooks.inc({ source: hook, outcome: String(answer.status) });
        return send(res, answer.status, answer.body);
      }
      return send(res, 404, { error: `no route for ${req.method} ${path}` });
    } catch (err) {
      const status = isGatewatchError(err) ? (STATUS[err.code] ?? 500) : 500;
      if (status >= 500) deps.log.error({ err: errorMessage(err), path }, 'request failed');
      else deps.log.info({ status, path, reason: errorMessage(err) }, 'request refused');
      if (label !== 'other') deps.metrics.webhooks.inc({ source: label, outcome: String(status) });
      if (!res.headersSent)
        send(res, status, { error: status === 500 ? 'internal error' : errorMessage(err) });
    }
  };
}

export function createHttpServer(deps: HttpDeps): Server {
  const listener = createRequestListener(deps);
  const server = createServer((req, res) => void listener(req, res));
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return server;
}
