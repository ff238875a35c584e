import { Redis, type RedisOptions } from 'ioredis';

/**
 * Redis connections by purpose. The HTTP side fails fast (no offline queue) so a
 * webhook gets 503 at once during an outage; workers wait and reconnect forever.
 */
export function createRedis(url: string, purpose: 'http' | 'worker', extra: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  };
  const byPurpose: RedisOptions =
    purpose === 'http'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000 }
      : { maxRetriesPerRequest: null };
  const redis = new Redis(url, { ...common, ...byPurpose, ...extra });
  // Errors surface on the commands that fail; without a listener ioredis would print each reconnect attempt.
  redis.on('error', () => {});
  return redis;
}

/** Resolves true once the connection is ready, false if it is not within `timeoutMs`. */
export function whenReady(redis: Redis, timeoutMs: number): Promise<boolean> {
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

export async function redisAnswers(redis: Redis, timeoutMs = 1000): Promise<boolean> {
  try {
    if (!(await whenReady(redis, timeoutMs))) return false;
    const pong = await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs)),
    ]);
    return pong === 'PONG';
  } catch {
    return false;
  }
}
