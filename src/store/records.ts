import type { Cluster, Redis } from 'ioredis';
import { fromHash, type Incident, type Member, toHash } from './incident.js';
import type { IncidentKeys } from './keys.js';

/** The store's plain record work: building a new incident's hash, reading many, trimming the time indexes. */

/** The hash of a new incident, as the scripts that open one store it. */
export function newIncidentHash(args: {
  id: string;
  service: string;
  source: string;
  key: string;
  title: string;
  url?: string;
  onsetAt: string;
  now: Date;
  channel?: string;
  requestedBy?: string;
}): Record<string, string> {
  const incident: Incident = {
    id: args.id,
    service: args.service,
    source: args.source,
    externalId: args.key,
    title: args.title,
    url: args.url ?? null,
    state: 'triggered',
    onsetAt: args.onsetAt,
    firstAlertAt: args.now.toISOString(),
    lastAlertAt: args.now.toISOString(),
    alertCount: 1,
    run: 1,
    diagnosingAt: null,
    verdictAt: null,
    acknowledgedAt: null,
    resolvedAt: null,
    verdict: null,
    channel: args.channel ?? null,
    rootTs: null,
    verdictTs: null,
    requestedBy: args.requestedBy ?? null,
    feedback: null,
    endReason: null,
    endNote: null,
  };
  return toHash(incident);
}

/** Members in the order they came. */
export function sortMembers(members: Member[]): Member[] {
  return members.sort((x, y) => x.joinedAt.localeCompare(y.joinedAt) || x.key.localeCompare(y.key));
}

/** The incidents of these ids, in one round trip; expired ones are left out. */
export async function readIncidents(
  redis: Redis | Cluster,
  keys: IncidentKeys,
  ids: readonly string[],
): Promise<Incident[]> {
  if (ids.length === 0) return [];
  const pipe = redis.pipeline();
  for (const id of ids) pipe.hgetall(keys.incident(id));
  const rows = (await pipe.exec()) ?? [];
  return rows
    .map(([err, hash]) => (err ? null : fromHash(hash as Record<string, string>)))
    .filter((i): i is Incident => i !== null);
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Keys matching a pattern; on a Cluster every master is asked (the hash tag puts them all on one). */
async function scanKeys(redis: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
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

/** Drops time-index entries scored before `cutoff` (ms), in the global and every service's index. */
export async function trimIndexes(
  redis: Redis | Cluster,
  keys: IncidentKeys,
  cutoff: number,
): Promise<number> {
  const global = keys.index();
  const all = [global, ...(await scanKeys(redis, `${globEscape(global)}:*`))];
  const pipe = redis.pipeline();
  for (const key of new Set(all)) pipe.zremrangebyscore(key, '-inf', `(${cutoff}`);
  const rows = (await pipe.exec()) ?? [];
  return rows.reduce((sum, [, n]) => sum + Number(n ?? 0), 0);
}
