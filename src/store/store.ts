import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Verdict } from '../verdict/types.js';
import { type EndReason, fromHash, type Incident, type Member, type MemberList, toHash } from './incident.js';
import { type IncidentKeys, incidentKeys } from './keys.js';
import { newIncidentHash, readIncidents, sortMembers, trimIndexes } from './records.js';
import {
  ACKNOWLEDGE,
  BEGIN_DIAGNOSIS,
  CHECK,
  END,
  FINISH_DIAGNOSIS,
  JOIN,
  JOIN_DELIVERED,
  OPEN_OR_JOIN,
  REOPEN,
  RESOLVE,
  ROOT_EDIT,
  runScript,
  type Script,
  type ScriptArgs,
} from './scripts.js';

const DAY = 24 * 3600;
/** How long a source key keeps pointing at its incident, and how long an ended alert is remembered. */
const ALIAS_TTL_S = 30 * DAY;
const ENDED_TTL_S = 2 * DAY;
const NOTE_CLAIM_TTL_S = 7 * DAY;
/** Members named at most in one message, and PagerDuty incidents noted at most per verdict. */
export const MEMBER_CAP = 200;
/** How many of the newest incidents the sweep also looks at beside the live set. */
const LEGACY_SCAN = 500;

export type OpenOrJoin = {
  id: string;
  /** `late`: the alert had already ended (a delayed retry of its firing); nothing was changed. */
  outcome: 'created' | 'joined' | 'late';
  state: string;
  run: number;
  /** A join that should ask for a root-message sync: the first within the sync window. */
  syncDue: boolean;
  /**
   * For a join by a new member (another upstream incident): `announce` — tell it the fresh verdict;
   * `rediagnose` — the verdict was stale, run `run` was started; `covered` — the run in progress covers it.
   * `none` for repeats of a known member and for creations.
   */
  newcomer: 'announce' | 'rediagnose' | 'covered' | 'none';
};

/** What a trigger tells the store: the alert, its service, and the join's windows. */
export interface TriggerArgs {
  source: string;
  key: string;
  service: string;
  title: string;
  url?: string;
  onsetAt: string;
  now?: Date;
  preferredId?: string;
  channel?: string;
  /** Joins within this window of one that asked for a root-message sync get `syncDue: false`. */
  syncWindowMs?: number;
  /** A verdict younger than this is told to a newcomer; an older one gets a fresh run. */
  freshVerdictMs?: number;
}

/** The join scripts' reply: id, outcome ('none': nothing open to join), state, run, sync, action. */
type JoinReply = [string, OpenOrJoin['outcome'] | 'none', string, string, string, string];

function toOpenOrJoin(res: JoinReply): OpenOrJoin {
  const action = res[5];
  return {
    id: res[0],
    outcome: res[1] as OpenOrJoin['outcome'],
    state: res[2],
    run: Number(res[3]),
    syncDue: res[4] === '1',
    newcomer: action === 'announce' || action === 'rediagnose' || action === 'covered' ? action : 'none',
  };
}

export type ResolveOutcome = { id: string | null; outcome: 'unknown' | 'already' | 'partial' | 'resolved' };

export type FinishOutcome =
  | { outcome: 'unknown' | 'superseded' }
  | { outcome: 'done'; state: string; members: MemberList };

export type EndOutcome = 'unknown' | 'already' | 'open' | 'resolved';

/** How an incident ends by itself: the lifecycle settings. */
export interface EndRules {
  quietMs: number;
  maxAgeMs: number;
}

/**
 * The incidents in Redis, behind named operations: every state transition is
 * one atomic Lua script (scripts.ts), every key comes from keys.ts. Nothing
 * else reads or writes incident state.
 */
export class IncidentStore {
  private readonly keys: IncidentKeys;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
    readonly retentionDays = 90,
  ) {
    this.keys = incidentKeys(prefix);
  }

  private get retentionSeconds() {
    return this.retentionDays * DAY;
  }

  /** Runs a transition; `args` must be a fresh object (it is sent as built). */
  private run<T>(s: Script, args: ScriptArgs): Promise<T> {
    args.p = this.keys.prefix;
    return runScript<T>(this.redis, s, args);
  }

  /**
   * Trigger: opens a new incident for the service, or joins the one already
   * open, in one atomic step. The alert joins the incident's firing alerts (it
   * resolves when every one has ended) and its members (each upstream incident
   * named in Slack). A join, the common case in a storm, is tried first.
   */
  async openOrJoin(args: TriggerArgs): Promise<OpenOrJoin> {
    const now = args.now ?? new Date();
    const joined = await this.run<JoinReply>(JOIN, this.joinArgs(args, now));
    return toOpenOrJoin(joined[1] !== 'none' ? joined : await this.create(args, now));
  }

  /**
   * A trigger with a sender's delivery id, in one round trip for a storm's common case: claims the
   * delivery, joins the open incident and, when that join leaves nothing to queue, stores the answer
   * `{incident, status: 'duplicate'}` its retries get (`answered`). `held`: another request has the
   * delivery (`held` is 'pending' or its answer's JSON); `claimed`: the claim is this request's to
   * answer or release, with the join made (null when none was open: `openOrJoin` opens one).
   */
  async joinDelivered(
    args: TriggerArgs,
    delivery: { key: string; pendingMs: number; answerTtlS: number },
  ): Promise<
    | { claim: 'held'; held: string }
    | { claim: 'answered'; join: OpenOrJoin }
    | { claim: 'claimed'; join: OpenOrJoin | null }
  > {
    // One object from the alert to the script's argument: this runs once per webhook of a storm.
    const join: ScriptArgs = this.joinArgs(args, args.now ?? new Date());
    join.k!.delivery = delivery.key;
    join.pendingMs = delivery.pendingMs;
    join.answerTtl = delivery.answerTtlS;
    const res = await this.run<['held', string] | ['answered' | 'claimed', ...JoinReply]>(
      JOIN_DELIVERED,
      join,
    );
    if (res[0] === 'held') return { claim: 'held', held: res[1] };
    const [claim, ...reply] = res;
    if (claim === 'answered') return { claim, join: toOpenOrJoin(reply) };
    return { claim, join: reply[1] === 'none' ? null : toOpenOrJoin(reply) };
  }

  /** The join scripts' argument: the alert's keys, its member record, the windows. */
  private joinArgs(args: TriggerArgs, now: Date) {
    const onsetMs = Date.parse(args.onsetAt);
    const nowIso = now.toISOString();
    const member: Member = {
      source: args.source,
      key: args.key,
      title: args.title,
      url: args.url ?? null,
      joinedAt: nowIso,
    };
    return {
      k: {
        alias: this.keys.alias(args.source, args.key),
        open: this.keys.open(args.service),
        ended: this.keys.ended(args.source, args.key),
      } as Record<string, string>,
      nowIso,
      nowMs: now.getTime(),
      aliasTtl: ALIAS_TTL_S,
      retention: this.retentionSeconds,
      onsetMs: Number.isFinite(onsetMs) ? onsetMs : now.getTime(),
      member: `${args.source}:${args.key}`,
      memberJson: JSON.stringify(member),
      syncMs: args.syncWindowMs ?? 2000,
      freshMs: args.freshVerdictMs ?? 120_000,
    };
  }

  private create(args: TriggerArgs, now: Date) {
    const id = args.preferredId ?? `${args.service}-${randomUUID().slice(0, 8)}`;
    const join = this.joinArgs(args, now);
    return this.run<JoinReply>(OPEN_OR_JOIN, {
      ...join,
      k: { ...join.k, index: this.keys.index(), serviceIndex: this.keys.index(args.service) },
      id,
      fallbackId: `${id}-${randomUUID().slice(0, 4)}`,
      fields: newIncidentHash({ ...args, id, key: args.key, now }),
    });
  }

  /**
   * `/gateway check`: a new diagnosis run of the service's open incident (`rerun`), or a check
   * run of its own (`created`) that ends at its verdict and never captures later alerts.
   */
  async startCheck(args: {
    service: string;
    channel: string;
    requestedBy: string;
    now?: Date;
  }): Promise<{ id: string; outcome: 'created' | 'rerun'; run: number }> {
    const now = args.now ?? new Date();
    const id = `${args.service}-${randomUUID().slice(0, 8)}`;
    const res = await this.run<[string, 'created' | 'rerun', string]>(CHECK, {
      k: {
        open: this.keys.open(args.service),
        index: this.keys.index(),
        serviceIndex: this.keys.index(args.service),
      },
      id,
      nowMs: now.getTime(),
      retention: this.retentionSeconds,
      fields: newIncidentHash({
        id,
        service: args.service,
        source: 'slack',
        key: `check:${args.channel}:${now.getTime()}`,
        title: `/gateway check ${args.service}`,
        onsetAt: now.toISOString(),
        now,
        channel: args.channel,
        requestedBy: args.requestedBy,
      }),
    });
    return { id: res[0], outcome: res[1], run: Number(res[2]) };
  }

  /**
   * One alert ended at its source. Its incident resolves when no alert of it is firing any
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
    const res = await this.run<[string, ResolveOutcome['outcome'], number]>(RESOLVE, {
      k: { alias: this.keys.alias(args.source, args.key), ended: this.keys.ended(args.source, args.key) },
      member: `${args.source}:${args.key}`,
      nowIso: now.toISOString(),
      onsetMs: Number.isFinite(onsetMs) ? onsetMs : now.getTime(),
      endedTtl: ENDED_TTL_S,
      note: `resolved in ${args.source}`,
    });
    return { id: res[0] || null, outcome: res[1] };
  }

  /** Marks the alert's incident acknowledged unless it is resolved; null when no incident is known for it. */
  async acknowledgeAlert(args: {
    source: string;
    key: string;
    now?: Date;
  }): Promise<{ id: string; outcome: 'resolved' | 'acknowledged' } | null> {
    return this.acknowledgeBy({ k: { alias: this.keys.alias(args.source, args.key) } }, args.now);
  }

  /** Marks the incident acknowledged (from Slack) unless it is resolved; null when it is unknown. */
  acknowledge(id: string, now?: Date) {
    return this.acknowledgeBy({ id }, now);
  }

  private async acknowledgeBy(args: ScriptArgs, now = new Date()) {
    const res = await this.run<[string, 'unknown' | 'resolved' | 'acknowledged']>(ACKNOWLEDGE, {
      ...args,
      nowIso: now.toISOString(),
    });
    return res[1] === 'unknown' ? null : { id: res[0], outcome: res[1] };
  }

  /** Reopens the alert's resolved incident for another diagnosis run (`reopened` with the new run). */
  async reopenAlert(args: {
    source: string;
    key: string;
    now?: Date;
  }): Promise<{ id: string; outcome: 'open' | 'reopened'; run: number } | null> {
    const now = args.now ?? new Date();
    const res = await this.run<[string, 'unknown' | 'open' | 'reopened', number]>(REOPEN, {
      k: { alias: this.keys.alias(args.source, args.key), ended: this.keys.ended(args.source, args.key) },
      nowIso: now.toISOString(),
      nowMs: now.getTime(),
      member: `${args.source}:${args.key}`,
      retention: this.retentionSeconds,
    });
    return res[1] === 'unknown' ? null : { id: res[0], outcome: res[1], run: Number(res[2]) };
  }

  /** Diagnose, begin: `superseded` when a newer run exists (this one must not post). */
  beginDiagnosis(id: string, run: number, now = new Date()): Promise<'unknown' | 'superseded' | 'ok'> {
    return this.run(BEGIN_DIAGNOSIS, { id, run, nowIso: now.toISOString() });
  }

  /** Diagnose, done: stores the verdict unless a newer run exists; returns the members it covers. */
  async finishDiagnosis(id: string, run: number, verdict: Verdict, now = new Date()): Promise<FinishOutcome> {
    const res = await this.run<string[]>(FINISH_DIAGNOSIS, {
      id,
      run,
      verdict: JSON.stringify(verdict),
      nowIso: now.toISOString(),
      nowMs: now.getTime(),
      recovered: verdict.cause === 'recovered',
      checkNote: 'check run: ended at its verdict',
      cap: MEMBER_CAP,
    });
    const [outcome, state = '', total = '0', ...members] = res;
    if (outcome !== 'done') return { outcome: outcome as 'unknown' | 'superseded' };
    return {
      outcome,
      state,
      members: { shown: sortMembers(members.map((m) => JSON.parse(m) as Member)), total: Number(total) },
    };
  }

  /** Another diagnosis run of the incident (Re-run checks); returns its number. */
  nextRun(id: string): Promise<number> {
    return this.redis.hincrby(this.keys.incident(id), 'run', 1);
  }

  /**
   * Ends the incident: `manual` always; `quiet` and `max-age` only when their rule holds
   * at this moment (checked inside the same atomic step).
   */
  end(
    id: string,
    reason: Exclude<EndReason, 'source' | 'check'>,
    opts: { note: string; rules?: EndRules; now?: Date },
  ): Promise<EndOutcome> {
    const now = opts.now ?? new Date();
    return this.run(END, {
      id,
      reason,
      note: opts.note,
      nowIso: now.toISOString(),
      nowMs: now.getTime(),
      quietMs: opts.rules?.quietMs ?? 0,
      maxAgeMs: opts.rules?.maxAgeMs ?? 0,
    });
  }

  /** Members that joined after the verdict and have not been told it yet (up to MEMBER_CAP at a time). */
  async pendingMembers(id: string): Promise<Member[]> {
    const names = await this.redis.srandmember(this.keys.pending(id), MEMBER_CAP);
    if (names.length === 0) return [];
    const values = await this.redis.hmget(this.keys.members(id), ...names);
    return sortMembers(values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as Member));
  }

  /** These members were told the verdict. */
  async membersTold(id: string, members: readonly Member[]): Promise<void> {
    if (members.length > 0)
      await this.redis.srem(this.keys.pending(id), ...members.map((m) => `${m.source}:${m.key}`));
  }

  /** The upstream incidents that opened or joined the incident (up to MEMBER_CAP named), first first. */
  async members(id: string): Promise<MemberList> {
    const key = this.keys.members(id);
    const shown: Member[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', MEMBER_CAP);
      cursor = next;
      for (let i = 1; i < flat.length && shown.length < MEMBER_CAP; i += 2)
        shown.push(JSON.parse(flat[i]!) as Member);
    } while (cursor !== '0' && shown.length < MEMBER_CAP);
    return { shown: sortMembers(shown), total: await this.redis.hlen(key) };
  }

  /** The source keys of the incident's alerts that are still firing. */
  async firingAlerts(id: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.firing(id))).sort();
  }

  /** Claims the one PagerDuty note of (upstream incident, incident, run); false when already claimed. */
  async claimNote(externalId: string, id: string, run: number): Promise<boolean> {
    return (
      (await this.redis.set(this.keys.note(externalId, id, run), '1', 'EX', NOTE_CLAIM_TTL_S, 'NX')) === 'OK'
    );
  }

  /**
   * Claims the next count or state edit of an incident's root message: 0 when it may be made now
   * (and none other for `gapMs`), else how many ms until it may.
   */
  async claimRootEdit(id: string, gapMs: number): Promise<number> {
    return this.run<number>(ROOT_EDIT, { k: { gate: this.keys.rootEdit(id) }, gapMs });
  }

  /** Gives a note claim back (the call failed), so a retry adds it. */
  async releaseNote(externalId: string, id: string, run: number): Promise<void> {
    await this.redis.del(this.keys.note(externalId, id, run));
  }

  async get(id: string): Promise<Incident | null> {
    return fromHash(await this.redis.hgetall(this.keys.incident(id)));
  }

  /** The Slack root message of the incident, once posted. */
  recordRoot(id: string, channel: string, ts: string): Promise<unknown> {
    return this.setExisting(id, { channel, rootTs: ts });
  }

  /** The verdict reply of a run, once posted. */
  recordVerdictTs(id: string, run: number, ts: string): Promise<unknown> {
    return this.setExisting(id, { verdictTs: `${run}:${ts}` });
  }

  /** Which cause a person said was right. */
  recordFeedback(id: string, cause: string): Promise<unknown> {
    return this.setExisting(id, { feedback: cause });
  }

  /** Sets fields of an incident that exists; an expired one is not brought back as a fragment. */
  private setExisting(id: string, fields: Partial<Incident>) {
    const key = this.keys.incident(id);
    return this.redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSET', KEYS[1], unpack(ARGV)) end return 0",
      1,
      key,
      ...Object.entries(toHash(fields)).flat(),
    );
  }

  /** The incident an earlier alert with this source key opened, open or not. */
  async findByKey(source: string, key: string): Promise<Incident | null> {
    const id = await this.redis.get(this.keys.alias(source, key));
    return id ? this.get(id) : null;
  }

  /** The service's open incident (one alerts join), if any. */
  async openIncidentOf(service: string): Promise<Incident | null> {
    const id = await this.redis.get(this.keys.open(service));
    const inc = id ? await this.get(id) : null;
    return inc && inc.state !== 'resolved' ? inc : null;
  }

  /** Open incidents, newest first (`/gateway status`). */
  async openIncidents(): Promise<Incident[]> {
    const all = await this.getMany(await this.liveIds());
    return all
      .filter((i) => i.state !== 'resolved')
      .sort((x, y) => y.firstAlertAt.localeCompare(x.firstAlertAt));
  }

  /**
   * Ids of the incidents that may be open, for the lifecycle sweep: the live set, and the newest of
   * the time index still open, which covers incidents opened before the live set existed.
   */
  async liveIds(): Promise<string[]> {
    const [live, newest] = await Promise.all([
      this.redis.smembers(this.keys.live),
      this.redis.zrevrange(this.keys.index(), 0, LEGACY_SCAN - 1),
    ]);
    const known = new Set(live);
    const legacy = newest.filter((id) => !known.has(id));
    if (legacy.length === 0) return live;
    // One round trip for their states: only those still open need the sweep (each is a script call).
    const pipe = this.redis.pipeline();
    for (const id of legacy) pipe.hget(this.keys.incident(id), 'state');
    const states = (await pipe.exec()) ?? [];
    const open = legacy.filter((_, i) => {
      const state = states[i]?.[1];
      return typeof state === 'string' && state !== 'resolved';
    });
    return [...live, ...open];
  }

  private getMany(ids: readonly string[]): Promise<Incident[]> {
    return readIncidents(this.redis, this.keys, ids);
  }

  /** Incidents of any service opened within `windowMs` of `atMs`, oldest first, at most `cap`. */
  async openedNear(atMs: number, windowMs: number, cap: number): Promise<Incident[]> {
    const ids = await this.redis.zrangebyscore(
      this.keys.index(),
      atMs - windowMs,
      atMs + windowMs,
      'LIMIT',
      0,
      cap,
    );
    return this.getMany(ids);
  }

  /** History: incidents whose first alert lies in [from, to), optionally of one service; expired ones are left out. */
  async between(from: number, to: number, service?: string): Promise<Incident[]> {
    return this.getMany(await this.redis.zrangebyscore(this.keys.index(service), from, `(${to}`));
  }

  /** History: drops time-index entries older than the retention, in the global and every service's index. */
  trimHistory(now: Date): Promise<number> {
    return trimIndexes(this.redis, this.keys, now.getTime() - this.retentionDays * DAY * 1000);
  }
}
