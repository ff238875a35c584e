import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';

/** A standalone (or Sentinel-managed) Redis, or a Redis Cluster: BullMQ and the store accept either. */
export type RedisClient = Redis | Cluster;

export type RedisPurpose = 'http' | 'worker';

export type RedisTopology = Pick<
  Config,
  'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME'
>;

function baseOptions(purpose: RedisPurpose): RedisOptions {
  const common: RedisOptions = {
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  };
  // The HTTP side fails fast (no offline queue) so a webhook gets 503 at once during an outage;
  // workers wait and reconnect forever (BullMQ requires maxRetriesPerRequest: null).
  const byPurpose: RedisOptions =
    purpose === 'http'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000 }
      : { maxRetriesPerRequest: null };
  return { ...common, ...byPurpose };
}

/** Credentials, database and TLS carried by a redis:// or rediss:// URL, for Cluster and Sentinel nodes. */
function urlOptions(url: string): RedisOptions {
  const u = new URL(url);
  const db = Number(u.pathname.slice(1));
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

function hostPort(entry: string): { host: string; port: number } {
  const i = entry.lastIndexOf(':');
  if (i < 0) return { host: entry, port: 6379 };
  return { host: entry.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(entry.slice(i + 1)) || 6379 };
}

/** A connection to a single Redis by URL. */
export function createRedis(url: string, purpose: RedisPurpose, extra: RedisOptions = {}): Redis {
  const redis = new Redis(url, { ...baseOptions(purpose), ...extra });
  // Errors surface on the commands that fail; without a listener ioredis would print each reconnect attempt.
  redis.on('error', () => {});
  return redis;
}

/**
 * A connection as the configuration describes it: Redis Cluster when
 * REDIS_CLUSTER_NODES is set, Sentinel when REDIS_SENTINELS is, else REDIS_URL.
 * Keys stay in one cluster slot because REDIS_PREFIX carries a `{hash tag}`.
 */
export function connectRedis(config: RedisTopology, purpose: RedisPurpose): RedisClient {
  const fromUrl = urlOptions(config.REDIS_URL);
  if (config.REDIS_CLUSTER_NODES?.length) {
    const { db: _db, ...nodeAuth } = fromUrl;
    const opts: ClusterOptions = {
      redisOptions: { ...baseOptions(purpose), ...nodeAuth },
      enableOfflineQueue: purpose !== 'http',
      clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
      slotsRefreshTimeout: 2000,
      ...(purpose === 'http' ? { maxRedirections: 4 } : {}),
    };
    const cluster = new Cluster(config.REDIS_CLUSTER_NODES.map(hostPort), opts);
    cluster.on('error', () => {});
    return cluster;
  }
  if (config.REDIS_SENTINELS?.length) {
    const redis = new Redis({
      ...baseOptions(purpose),
      ...fromUrl,
      sentinels: config.REDIS_SENTINELS.map(hostPort),
      name: config.REDIS_SENTINEL_NAME,
      // Sentinels usually share the data nodes' password; set it explicitly so failover reconnects work.
      ...(fromUrl.password ? { sentinelPassword: fromUrl.password } : {}),
    });
    redis.on('error', () => {});
    return redis;
  }
  return createRedis(config.REDIS_URL, purpose);
}

/** Resolves true once the connection is ready, false if it is not within `timeoutMs`. */
export function whenReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (v: boolean) => {
      clearTimeout(t);
      redis.off('ready', onReady);
      resolve(v);
    };
    const onReady = () => done(true);
    const t = setTimeout(() => done(false), timeoutMs);
    redis.once('ready', onReady);
  });
}

export async function redisAnswers(redis: RedisClient, timeoutMs = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    if (!(await whenReady(redis, timeoutMs))) return false;
    const pong = await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return pong === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
