import type { Cluster, Redis } from 'ioredis';
import { GatewatchError } from '../errors.js';
import { incidentKeys } from '../store/keys.js';
import { CLAIM, runScript } from '../store/scripts.js';

/** How long a delivery's answer is kept for its retries. */
export const ANSWER_TTL_S = 2 * 24 * 3600;
/** A claim left by a server that died mid-request frees itself after this. */
export const PENDING_TTL_MS = 10_000;
const POLL_MS = 20;

/** A sender's delivery: its id, and how long a retry may wait for the same delivery in flight. */
export interface Delivery {
  source: string;
  id: string;
  waitMs: number;
}

/**
 * Tries to claim a delivery until it is no longer in flight elsewhere: `attempt` returns what it got
 * (the claim and its work) or what holds the delivery ('pending', or the first's answer as JSON).
 * A retry, even one racing the first, gets the first's answer.
 */
export async function onceClaimed<T>(
  waitMs: number,
  attempt: () => Promise<{ got: T } | { held: string }>,
): Promise<{ got: T } | { answer: Record<string, unknown> }> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const res = await attempt();
    if ('got' in res) return res;
    if (res.held !== 'pending') return { answer: JSON.parse(res.held) as Record<string, unknown> };
    if (Date.now() >= deadline)
      throw new GatewatchError(
        'QUEUE_UNAVAILABLE',
        'the same delivery is still being processed; retry later',
      );
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Senders' delivery ids (PagerDuty's X-Webhook-Id, …), kept in Redis so that a
 * retry, even one racing the original or arriving after a restart, gets the
 * original's answer instead of counting as another alert.
 */
export class DeliveryLog {
  private readonly key: (source: string, id: string) => string;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
  ) {
    this.key = incidentKeys(prefix).delivery;
  }

  /** The delivery's key, for a store operation that claims it along with other work. */
  keyOf(source: string, id: string): string {
    return this.key(source, id);
  }

  /** Claims the delivery for this request (null), or returns what holds it: 'pending' or the first's answer. */
  async claim(source: string, id: string): Promise<string | null> {
    return runScript<string | null>(this.redis, CLAIM, {
      k: { delivery: this.key(source, id) },
      pendingMs: PENDING_TTL_MS,
    });
  }

  /** Stores the answer given to the claimed delivery, for its retries. */
  async answer(source: string, id: string, answer: object): Promise<void> {
    await this.redis.set(this.key(source, id), JSON.stringify(answer), 'EX', ANSWER_TTL_S);
  }

  /** Gives the claim up (the request failed), so the sender's retry is processed afresh. */
  async release(source: string, id: string): Promise<void> {
    await this.redis.eval(
      "if redis.call('GET', KEYS[1]) == 'pending' then return redis.call('DEL', KEYS[1]) end return 0",
      1,
      this.key(source, id),
    );
  }
}
