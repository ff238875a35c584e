import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { fromHash, type Incident, toHash } from './incident.js';

const DAY = 24 * 3600;

/**
 * Opens a new incident for a service, or joins the one already open, in one
 * atomic step: an alert storm racing through many servers still yields one.
 * KEYS: alias (source:key → id), open (service → id), new incident hash, time index, service index
 * ARGV: new id, prefix, now ISO, now ms, alias ttl, then the new incident's fields as pairs
 */
const OPEN_OR_JOIN = `
local id = redis.call('GET', KEYS[1])
if not id then id = redis.call('GET', KEYS[2]) end
if id then
  local ikey = ARGV[2] .. ':incident:' .. id
  local state = redis.call('HGET', ikey, 'state')
  if state and state ~= 'resolved' then
    redis.call('HINCRBY', ikey, 'alertCount', 1)
    redis.call('HSET', ikey, 'lastAlertAt', ARGV[3])
    redis.call('SET', KEYS[1], id, 'EX', ARGV[5])
    return {id, 'joined', state}
  end
end
id = ARGV[1]
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[3], unpack(fields))
redis.call('SET', KEYS[1], id, 'EX', ARGV[5])
redis.call('SET', KEYS[2], id)
redis.call('ZADD', KEYS[4], ARGV[4], id)
redis.call('ZADD', KEYS[5], ARGV[4], id)
return {id, 'created', 'triggered'}
`;

export type OpenOrJoin = { id: string; outcome: 'created' | 'joined'; state: string };

/** The incident records in Redis; every key shares the prefix's hash tag, so it works on Redis Cluster. */
export class IncidentStore {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
    readonly retentionDays = 90,
  ) {}

  key(id: string) {
    return `${this.prefix}:incident:${id}`;
  }
  private aliasKey(source: string, key: string) {
    return `${this.prefix}:alias:${source}:${key}`;
  }
  private openKey(service: string) {
    return `${this.prefix}:open:${service}`;
  }
  indexKey(service?: string) {
    return service ? `${this.prefix}:index:${service}` : `${this.prefix}:index`;
  }

  async openOrJoin(args: {
    source: string;
    key: string;
    service: string;
    title: string;
    url?: string;
    onsetAt: string;
    now?: Date;
    preferredId?: string;
    requestedBy?: string;
    channel?: string;
  }): Promise<OpenOrJoin> {
    const now = args.now ?? new Date();
    let id = args.preferredId ?? `${args.service}-${randomUUID().slice(0, 8)}`;
    // An id seen before (a resolved PagerDuty incident sent as new) gets a suffix rather than overwrite history.
    if (await this.redis.exists(this.key(id))) id = `${id}-${randomUUID().slice(0, 4)}`;
    const incident: Incident = {
      id,
      service: args.service,
      source: args.source,
      externalId: args.key,
      title: args.title,
      url: args.url ?? null,
      state: 'triggered',
      onsetAt: args.onsetAt,
      firstAlertAt: now.toISOString(),
      lastAlertAt: now.toISOString(),
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
    };
    const pairs = Object.entries(toHash(incident)).flat();
    const res = (await this.redis.eval(
      OPEN_OR_JOIN,
      5,
      this.aliasKey(args.source, args.key),
      this.openKey(args.service),
      this.key(id),
      this.indexKey(),
      this.indexKey(args.service),
      id,
      this.prefix,
      now.toISOString(),
      String(now.getTime()),
      String(30 * DAY),
      ...pairs,
    )) as [string, 'created' | 'joined', string];
    if (res[1] === 'created') await this.redis.expire(this.key(id), this.retentionDays * DAY);
    return { id: res[0], outcome: res[1], state: res[2] };
  }

  async get(id: string): Promise<Incident | null> {
    return fromHash(await this.redis.hgetall(this.key(id)));
  }

  async update(id: string, fields: Partial<Incident>): Promise<void> {
    const hash = toHash(fields);
    if (Object.keys(hash).length > 0) await this.redis.hset(this.key(id), hash);
  }

  /** The incident an earlier alert with this source key opened, open or not. */
  async findByKey(source: string, key: string): Promise<Incident | null> {
    const id = await this.redis.get(this.aliasKey(source, key));
    return id ? this.get(id) : null;
  }

  async markResolved(incident: Incident, at: Date): Promise<void> {
    await this.update(incident.id, { state: 'resolved', resolvedAt: at.toISOString() });
    // Only release the service's open slot if it still points at this incident.
    await this.redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
      1,
      this.openKey(incident.service),
      incident.id,
    );
  }

  async reopen(incident: Incident, at: Date): Promise<number> {
    const run = await this.redis.hincrby(this.key(incident.id), 'run', 1);
    await this.update(incident.id, {
      state: 'triggered',
      resolvedAt: null,
      acknowledgedAt: null,
      lastAlertAt: at.toISOString(),
    });
    await this.redis.set(this.openKey(incident.service), incident.id);
    return run;
  }

  async openIncidents(): Promise<Incident[]> {
    const ids = await this.redis.zrevrange(this.indexKey(), 0, 499);
    const all = await Promise.all(ids.map((id) => this.get(id)));
    return all.filter((i): i is Incident => i !== null && i.state !== 'resolved');
  }

  /** Remembers a delivery id (a sender's retry of the same webhook) with the answer first given. */
  async rememberDelivery(source: string, deliveryId: string, answer: object): Promise<void> {
    await this.redis.set(
      `${this.prefix}:delivery:${source}:${deliveryId}`,
      JSON.stringify(answer),
      'EX',
      2 * DAY,
    );
  }

  async seenDelivery(source: string, deliveryId: string): Promise<Record<string, unknown> | null> {
    const v = await this.redis.get(`${this.prefix}:delivery:${source}:${deliveryId}`);
    return v ? (JSON.parse(v) as Record<string, unknown>) : null;
  }
}
