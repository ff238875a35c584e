import type { Cluster, Redis } from 'ioredis';
import { GatewatchError } from '../errors.js';
import { incidentKeys } from '../store/keys.js';
import { CLAIM, runScript } from '../store/scripts.js';

const ANSWER_TTL_S = 2 * 24 * 3600;
/** A claim left by a server that died mid-request frees itself after this. */
const PENDING_TTL_MS = 10_000;
const POLL_MS = 20;

export type DeliveryClaim = { claimed: true } | { claimed: false; answer: Record<string, unknown> };

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

  /**
   * Claims the delivery for this request, or returns the answer the first one
   * got. While the first is still in flight it waits for its answer, up to `waitMs`.
   */
  async claim(source: string, id: string, waitMs: number): Promise<DeliveryClaim> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const held = await runScript<string | null>(this.redis, CLAIM, {
        k: { delivery: this.key(source, id) },
        pendingMs: PENDING_TTL_MS,
      });
      if (held === null) return { claimed: true };
      if (held !== 'pending') return { claimed: false, answer: JSON.parse(held) as Record<string, unknown> };
      if (Date.now() >= deadline)
        throw new GatewatchError(
          'QUEUE_UNAVAILABLE',
          'the same delivery is still being processed; retry later',
        );
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
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
