import { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { classifyNetworkError } from '../net-errors.js';
import {
  type DbDriver,
  type DbOutcome,
  type DbSession,
  type LongQuery,
  networkOutcome,
  usage,
} from './types.js';

/** The slowlog is history; only entries this recent describe the incident. */
const SLOWLOG_RECENT_SECONDS = 15 * 60;

function infoField(info: string, name: string): number | null {
  const m = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : null;
}

/** Redis error replies start with an error code word (`WRONGPASS`, `NOAUTH`, `ERR`, `LOADING`). */
function replyCode(err: unknown): string {
  const msg = err instanceof Error ? err.message : '';
  return /^[A-Z]+/.exec(msg)?.[0] ?? '';
}

/**
 * A full Redis answers a new connection with `-ERR max number of clients reached`
 * and closes it at once, so the client's first write usually fails with EPIPE
 * before the reply is read. Listening on a fresh socket, without writing, hears it.
 */
function greetingError(dsn: string, signal: AbortSignal, waitMs = 300): Promise<Error | null> {
  const url = new URL(dsn);
  if (url.protocol !== 'redis:') return Promise.resolve(null);
  return new Promise((resolve) => {
    const socket = new Socket();
    let text = '';
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      socket.destroy();
      const line = /^-(.*)\r\n/.exec(text)?.[1];
      resolve(line ? new Error(line) : null);
    };
    const timer = setTimeout(done, waitMs);
    signal.addEventListener('abort', done, { once: true });
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (text.includes('\r\n')) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.connect(Number(url.port) || 6379, url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1');
  });
}

class RedisSession implements DbSession {
  constructor(private readonly redis: Redis) {}

  async ping() {
    await this.redis.ping();
  }

  async connections() {
    const info = await this.redis.info('clients');
    const used = infoField(info, 'connected_clients');
    if (used === null) return null;
    // CONFIG is often renamed or denied on managed Redis; then the limit is unknown, not zero.
    const limit = (await this.redis.config('GET', 'maxclients').catch(() => [])) as string[];
    const max = Number(limit[1]);
    if (!Number.isFinite(max) || max <= 0) return null;
    return usage(used, max, 0, { blocked: infoField(info, 'blocked_clients') ?? 0 });
  }

  async longQueries(minSeconds: number): Promise<LongQuery[]> {
    const entries = (await this.redis.call('SLOWLOG', 'GET', '32')) as [
      number,
      number,
      number,
      string[],
      ...unknown[],
    ][];
    const since = Date.now() / 1000 - SLOWLOG_RECENT_SECONDS;
    return entries
      .filter(([, at, micros]) => at >= since && micros >= minSeconds * 1e6)
      .map(([id, , micros, args]) => ({
        id,
        seconds: Math.round(micros / 1e5) / 10,
        user: null,
        state: 'completed',
        wait: null,
        // The command and its first key only: the rest is the application's data.
        query: args.slice(0, 2).join(' ') || null,
      }));
  }

  async lockWaits() {
    return [];
  }

  async close() {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  destroy() {
    this.redis.disconnect();
  }
}

export const redisDriver: DbDriver = {
  async open(dsn, { queryTimeoutMs, signal }) {
    if (signal.aborted) throw new Error('aborted before connecting');
    const redis = new Redis(dsn, {
      lazyConnect: true,
      // One attempt, no reconnects, no queueing: the check reports what it finds, it does not wait for better.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: 120_000,
      commandTimeout: queryTimeoutMs,
      connectionName: 'gatewatch',
    });
    // connect() only says "Connection is closed"; the reason (WRONGPASS, max clients) arrives as an error event.
    const reasons: Error[] = [];
    redis.on('error', (err) => reasons.push(err));
    let onAbort = () => {};
    // ioredis may sit on a silent server past disconnect(); the deadline must end the wait itself.
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        redis.disconnect();
        reject(new Error('aborted while connecting'));
      };
    });
    aborted.catch(() => {});
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([redis.connect(), aborted]);
      return new RedisSession(redis);
    } catch (err) {
      redis.disconnect();
      const reason = reasons.find((r) => replyCode(r) !== '') ?? reasons[0] ?? err;
      if (signal.aborted || replyCode(reason) !== '' || classifyNetworkError(reason) !== 'reset')
        throw reason;
      throw (await greetingError(dsn, signal)) ?? reason;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  },

  classify(err): DbOutcome {
    const code = replyCode(err);
    if (code === 'WRONGPASS' || code === 'NOAUTH' || code === 'NOPERM') return 'auth';
    if (code === 'ERR' && /max number of clients/i.test((err as Error).message))
      return 'too_many_connections';
    if (code === 'LOADING' || code === 'MASTERDOWN') return 'refused';
    // A script past its time limit blocks every client: up, but not answering.
    if (code === 'BUSY') return 'timeout';
    // ioredis's own commandTimeout error carries no code; its message is fixed in ioredis.
    if (/^Command timed out$/.test((err as Error | undefined)?.message ?? '')) return 'timeout';
    return networkOutcome(err);
  },
};
