import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';

/** A deploy or config change event, as posted to /webhooks/changes. */
export interface ChangeEvent {
  service: string;
  kind: 'deploy' | 'config';
  ref: string;
  summary: string;
  author?: string;
  at: string;
}

export interface ChangeEventReader {
  recent(service: string, sinceMs: number, untilMs: number): Promise<ChangeEvent[]>;
}

const DAY_MS = 24 * 3600 * 1000;
/** A noisy service (a deploy a minute) still stays bounded. */
const MAX_PER_SERVICE = 10_000;

const StoredEvent = z.object({
  id: z.string(),
  service: z.string(),
  kind: z.enum(['deploy', 'config']),
  ref: z.string(),
  summary: z.string(),
  author: z.string().optional(),
  at: z.string(),
});

export interface RecordedChange {
  id: string;
  event: ChangeEvent;
}

/** Same service, kind, ref and time: a sender's retry, which lands on the same member instead of a second one. */
function changeId(e: ChangeEvent): string {
  const h = createHash('sha256').update([e.service, e.kind, e.ref, e.at].join('\0')).digest('hex');
  return `chg_${h.slice(0, 16)}`;
}

/**
 * Deploy and config change events in Redis: one sorted set per service scored by
 * the change time, trimmed to the retention on every write. Every key carries the
 * prefix's hash tag, so it works on Redis Cluster.
 */
export class ChangeEventStore implements ChangeEventReader {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    private readonly retentionDays = 30,
    private readonly now: () => number = Date.now,
  ) {}

  key(service: string): string {
    return `${this.prefix}:changes:${service}`;
  }

  /** Stores the event; null when it is already older than the retention (it would be trimmed at once). */
  async record(event: ChangeEvent): Promise<RecordedChange | null> {
    const id = changeId(event);
    const member = JSON.stringify({ id, ...event });
    const key = this.key(event.service);
    const cutoff = this.now() - this.retentionDays * DAY_MS;
    if (Date.parse(event.at) < cutoff) return null;
    await this.redis
      .multi()
      .zadd(key, Date.parse(event.at), member)
      .zremrangebyscore(key, '-inf', `(${cutoff}`)
      .zremrangebyrank(key, 0, -(MAX_PER_SERVICE + 1))
      .pexpire(key, this.retentionDays * DAY_MS)
      .exec()
      .then((results) => {
        const failed = results?.find(([err]) => err);
        if (failed) throw failed[0];
      });
    return { id, event };
  }

  async recent(service: string, sinceMs: number, untilMs: number): Promise<ChangeEvent[]> {
    const members = await this.redis.zrangebyscore(this.key(service), sinceMs, untilMs);
    const events: ChangeEvent[] = [];
    for (const m of members) {
      let raw: unknown;
      try {
        raw = JSON.parse(m);
      } catch {
        continue;
      }
      const parsed = StoredEvent.safeParse(raw);
      if (!parsed.success) continue;
      const { id: _id, ...event } = parsed.data;
      events.push(event);
    }
    return events;
  }
}
