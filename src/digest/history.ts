import type { Cluster, Redis } from 'ioredis';
import { fromHash, type Incident } from '../ingest/incident.js';
import type { IncidentStore } from '../ingest/store.js';
import type { RedisClient } from '../redis.js';
import type { WeekRange } from './week.js';

const DAY_MS = 24 * 3600 * 1000;

/**
 * The time index is scored by the first alert, while a week is counted by onset, which
 * comes first; an alert later than this after its onset would be missed.
 */
const ONSET_TO_ALERT_MARGIN_MS = DAY_MS;

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Read-only queries over the incidents `IncidentStore` keeps, plus trimming of its
 * time indexes: the hashes expire on their own after the retention, the index
 * entries pointing at them do not.
 */
export class IncidentHistory {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly retentionDays: number;

  constructor(store: Pick<IncidentStore, 'redis' | 'prefix' | 'retentionDays'>) {
    this.redis = store.redis;
    this.prefix = store.prefix;
    this.retentionDays = store.retentionDays;
  }

  private indexKey(service?: string) {
    return service ? `${this.prefix}:index:${service}` : `${this.prefix}:index`;
  }

  /** Incidents whose first alert lies in [from, to), optionally of one service; expired ones are left out. */
  async between(from: number, to: number, service?: string): Promise<Incident[]> {
    const ids = await this.redis.zrangebyscore(this.indexKey(service), from, `(${to}`);
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(`${this.prefix}:incident:${id}`);
    const rows = (await pipe.exec()) ?? [];
    return rows
      .map(([err, hash]) => (err ? null : fromHash(hash as Record<string, string>)))
      .filter((i): i is Incident => i !== null);
  }

  /** Every incident that can have its onset in the week (buildDigest keeps exactly those). */
  forWeek(range: WeekRange): Promise<Incident[]> {
    return this.between(range.start.getTime(), range.end.getTime() + ONSET_TO_ALERT_MARGIN_MS);
  }

  /** Keys matching a pattern; on a Cluster every master is asked (the hash tag puts them all on one). */
  private async scanKeys(pattern: string): Promise<string[]> {
    const nodes = this.redis.isCluster ? (this.redis as Cluster).nodes('master') : [this.redis as Redis];
    const out: string[] = [];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        out.push(...found);
      } while (cursor !== '0');
    }
    return out;
  }

  /** Drops index entries older than the retention, in the global and every per-service index. */
  async trim(now: Date): Promise<number> {
    const cutoff = now.getTime() - this.retentionDays * DAY_MS;
    const keys = [this.indexKey(), ...(await this.scanKeys(`${globEscape(this.indexKey())}:*`))];
    const pipe = this.redis.pipeline();
    for (const key of new Set(keys)) pipe.zremrangebyscore(key, '-inf', `(${cutoff}`);
    const rows = (await pipe.exec()) ?? [];
    return rows.reduce((sum, [, n]) => sum + Number(n ?? 0), 0);
  }
}
