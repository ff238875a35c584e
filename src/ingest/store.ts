import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { fromHash, type Incident, toHash } from './incident.js';
import { ACKNOWLEDGE, JOIN, OPEN_OR_JOIN, REOPEN, RESOLVE, runScript } from './scripts.js';

const DAY = 24 * 3600;
/** How long a source key keeps pointing at its incident, and how long an ended alert is remembered. */
const ALIAS_TTL_S = 30 * DAY;
const ENDED_TTL_S = 2 * DAY;

export type OpenOrJoin = {
  id: string;
  /** `late`: the alert had already ended (a delayed retry of its firing); nothing was changed. */
  outcome: 'created' | 'joined' | 'late';
  state: string;
  run: number;
  /** A join that should ask for a root-message sync: the first within the sync window. */
  syncDue: boolean;
};

export type ResolveOutcome = { id: string | null; outcome: 'unknown' | 'already' | 'partial' | 'resolved' };

/** The incident records in Redis; every key shares the prefix's hash tag, so it works on Redis Cluster. */
export class IncidentStore {
  constructor(
    readonly redis: Redis | Cluster,
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

  private endedKey(source: string, key: string) {
    return `${this.prefix}:ended:${source}:${key}`;
  }
  private get retentionSeconds() {
    return this.retentionDays * DAY;
  }

  /**
   * Opens a new incident for the service, or joins the one already open, in one
   * atomic step. With `trackFiring` the alert joins the incident's set of firing
   * alerts, and the incident resolves only when every one of them has ended.
   * A join (the common case in a storm) is tried first with small arguments.
   */
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
    trackFiring?: boolean;
    /** Joins within this window of one that asked for a root-message sync get `syncDue: false`. */
    syncWindowMs?: number;
  }): Promise<OpenOrJoin> {
    const now = args.now ?? new Date();
    const onsetMs = Date.parse(args.onsetAt);
    const keys = [
      this.aliasKey(args.source, args.key),
      this.openKey(args.service),
      this.endedKey(args.source, args.key),
    ];
    const argv = [
      this.prefix,
      now.toISOString(),
      now.getTime(),
      ALIAS_TTL_S,
      this.retentionSeconds,
      Number.isFinite(onsetMs) ? onsetMs : now.getTime(),
      args.trackFiring ? `${args.source}:${args.key}` : '',
      args.syncWindowMs ?? 2000,
    ];
    type Reply = [string, OpenOrJoin['outcome'] | 'none', string, string, string];
    const joined = await runScript<Reply>(this.redis, JOIN, keys, argv);
    const res = joined[1] !== 'none' ? joined : await this.create(args, now, keys, argv);
    return {
      id: res[0],
      outcome: res[1] as OpenOrJoin['outcome'],
      state: res[2],
      run: Number(res[3]),
      syncDue: res[4] === '1',
    };
  }

  private create(
    args: Parameters<IncidentStore['openOrJoin']>[0],
    now: Date,
    keys: string[],
    argv: (string | number)[],
  ) {
    const id = args.preferredId ?? `${args.service}-${randomUUID().slice(0, 8)}`;
    const fallbackId = `${id}-${randomUUID().slice(0, 4)}`;
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
    return runScript<[string, OpenOrJoin['outcome'], string, string, string]>(
      this.redis,
      OPEN_OR_JOIN,
      [...keys, this.indexKey(), this.indexKey(args.service), this.key(id), this.key(fallbackId)],
      [...argv, id, fallbackId, ...Object.entries(toHash(incident)).flat()],
    );
  }

  /**
   * One alert ended. Its incident resolves when no alert of it is firing any
   * more; the alert's end is remembered so a delayed retry of its firing is not a new incident.
   */
  async resolveAlert(args: {
    source: string;
    key: string;
    onsetAt: string;
    now?: Date;
  }): Promise<ResolveOutcome> {
    const now = args.now ?? new Date();
    const onsetMs = Date.parse(args.onsetAt);
    const res = await runScript<[string, ResolveOutcome['outcome'], number]>(
      this.redis,
      RESOLVE,
      [this.aliasKey(args.source, args.key), this.endedKey(args.source, args.key)],
      [
        this.prefix,
        `${args.source}:${args.key}`,
        now.toISOString(),
        Number.isFinite(onsetMs) ? onsetMs : now.getTime(),
        ENDED_TTL_S,
      ],
    );
    return { id: res[0] || null, outcome: res[1] };
  }

  /** Marks the alert's incident acknowledged unless it is resolved; null when no incident is known for it. */
  async acknowledgeAlert(args: {
    source: string;
    key: string;
    now?: Date;
  }): Promise<{ id: string; outcome: 'resolved' | 'acknowledged' } | null> {
    const now = args.now ?? new Date();
    const res = await runScript<[string, 'unknown' | 'resolved' | 'acknowledged']>(
      this.redis,
      ACKNOWLEDGE,
      [this.aliasKey(args.source, args.key)],
      [this.prefix, now.toISOString()],
    );
    return res[1] === 'unknown' ? null : { id: res[0], outcome: res[1] };
  }

  /** Reopens the alert's resolved incident for another diagnosis run (`reopened` with the new run). */
  async reopenAlert(args: {
    source: string;
    key: string;
    now?: Date;
    trackFiring?: boolean;
  }): Promise<{ id: string; outcome: 'open' | 'reopened'; run: number } | null> {
    const now = args.now ?? new Date();
    const res = await runScript<[string, 'unknown' | 'open' | 'reopened', number]>(
      this.redis,
      REOPEN,
      [this.aliasKey(args.source, args.key), this.endedKey(args.source, args.key)],
      [
        this.prefix,
        now.toISOString(),
        args.trackFiring ? `${args.source}:${args.key}` : '',
        this.retentionSeconds,
      ],
    );
    return res[1] === 'unknown' ? null : { id: res[0], outcome: res[1], run: Number(res[2]) };
  }

  /** The source keys of the incident's alerts that are still firing. */
  async firingAlerts(id: string): Promise<string[]> {
    return (await this.redis.smembers(`${this.prefix}:firing:${id}`)).sort();
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

  async openIncidents(): Promise<Incident[]> {
    const ids = await this.redis.zrevrange(this.indexKey(), 0, 499);
    const all = await Promise.all(ids.map((id) => this.get(id)));
    return all.filter((i): i is Incident => i !== null && i.state !== 'resolved');
  }
}
