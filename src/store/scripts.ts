import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { LAYOUT_SUFFIXES } from './keys.js';

/**
 * The incident store's transitions, one Lua script each, run atomically inside
 * Redis: webhooks on many servers, workers and Slack buttons racing on one
 * incident all see one consistent record. Each script takes one JSON argument
 * of named fields (`a`); `a.k` holds the keys it is given (sent as KEYS, named by
 * `a.kn`, so no key travels twice), `L` the key prefixes (keys.ts) for keys it
 * derives from an incident id or service, built from the store's prefix `a.p`.
 * All keys share the prefix's `{hash tag}`, so they live in one Redis Cluster slot.
 *
 * Hidden fields of the incident hash (read by scripts only, never by `fromHash`):
 * `_lastAlertMs`, `_openedMs`, `_verdictMs`, `_doneRun` (the run whose verdict is
 * stored), `_recovered` ('1' when that verdict is `recovered`).
 */

const LUA_LAYOUT = Object.entries(LAYOUT_SUFFIXES)
  .map(([name, suffix]) => `${name} = p .. '${suffix}'`)
  .join(', ');

const PRELUDE = `
local a = cjson.decode(ARGV[1])
local k = {}
for i, name in ipairs(a.kn) do k[name] = KEYS[i] end
a.k = k
local p = a.p or ''
local L = { ${LUA_LAYOUT} }
local function num(v) return tonumber(v or '') or 0 end
local function ms(v) return string.format('%d', v) end
`;

/** Ends an incident in place: state, reason, the service's open slot and the lifecycle sets. */
const END_FN = `
local function endIncident(id, ik, reason, note)
  redis.call('HSET', ik, 'state', 'resolved', 'resolvedAt', a.nowIso, 'endReason', reason, 'endNote', note)
  redis.call('DEL', L.firing .. id, L.pending .. id)
  redis.call('SREM', L.live, id)
  local okey = L.open .. (redis.call('HGET', ik, 'service') or '')
  if redis.call('GET', okey) == id then redis.call('DEL', okey) end
end
`;

/**
 * The join half of a trigger, shared by JOIN and OPEN_OR_JOIN.
 * a.k: alias, open, ended. a: nowIso, nowMs, aliasTtl, retention, onsetMs, member ('source:key'),
 * memberJson, syncMs, freshMs.
 * Returns {id, outcome, state, run, sync, action}: outcome 'late' means the alert already ended (a
 * delayed retry); sync '1' when no root-message sync was asked for within the window; action
 * 'announce' when a new member should be told the fresh verdict, 'rediagnose' when a new run started
 * because the verdict was stale, 'covered' when the run in progress covers it ('' for a known member).
 * An incident that a `/gateway check` opened is never joined.
 */
const JOIN_PART = `
-- One read of the three keys the alert names (a missing key reads false).
local got = redis.call('MGET', a.k.ended, a.k.alias, a.k.open)
local ended = got[1]
if ended and a.onsetMs <= tonumber(ended) then
  return {got[2] or '', 'late', 'resolved', '0', '0', ''}
end
-- One read of what the join needs: state, whether a check run holds it, run, the verdict's run and time.
local function openState(id)
  if not id then return nil end
  local f = redis.call('HMGET', L.incident .. id, 'state', 'requestedBy', 'run', '_doneRun', '_verdictMs')
  if f[1] and f[1] ~= 'resolved' and (f[2] or '') == '' then return f end
  return nil
end
local aliased = got[2]
local id = aliased
local f = openState(id)
if not f then
  id = got[3]
  f = openState(id)
end
if f then
  local state = f[1]
  local ik = L.incident .. id
  redis.call('HINCRBY', ik, 'alertCount', 1)
  redis.call('HSET', ik, 'lastAlertAt', a.nowIso, '_lastAlertMs', ms(a.nowMs))
  -- A repeat of a known alert changes no key's membership: only what is new is written.
  if aliased ~= id then redis.call('SET', a.k.alias, id, 'EX', a.aliasTtl) end
  -- The firing set got its expiry when the incident opened (or reopened) and goes when it ends.
  redis.call('SADD', L.firing .. id, a.member)
  local run = num(f[3])
  local action = ''
  local mk = L.members .. id
  if redis.call('HSETNX', mk, a.member, a.memberJson) == 1 then
    redis.call('EXPIRE', mk, a.retention)
    action = 'covered'
    -- A run still in progress covers the newcomer; a finished one is told if fresh, else run again.
    if num(f[4]) >= run then
      if a.nowMs - num(f[5]) <= a.freshMs then
        redis.call('SADD', L.pending .. id, a.member)
        redis.call('EXPIRE', L.pending .. id, a.retention)
        action = 'announce'
      else
        run = redis.call('HINCRBY', ik, 'run', 1)
        if state == 'diagnosed' then
          state = 'triggered'
          redis.call('HSET', ik, 'state', state)
        end
        action = 'rediagnose'
      end
    end
  end
  local sync = redis.call('SET', L.rootsync .. id, '1', 'PX', a.syncMs, 'NX') and '1' or '0'
  return {id, 'joined', state, tostring(run), sync, action}
end
`;

/** Joins the open incident of the alert or its service; outcome 'none' when there is none to join. */
export const JOIN = script(`${PRELUDE}${JOIN_PART}
return {'', 'none', '', '0', '0', ''}
`);

/**
 * Opens a new incident, or joins the one already open (a racing alert may have opened it).
 * As JOIN_PART, plus a.k: index, serviceIndex; a: id, fallbackId, fields (the new incident's hash).
 */
export const OPEN_OR_JOIN = script(`${PRELUDE}${JOIN_PART}
local id = a.id
local ik = L.incident .. id
-- An id seen before (a resolved PagerDuty incident sent as new) takes the fallback rather than overwrite history.
if redis.call('EXISTS', ik) == 1 then
  id = a.fallbackId
  ik = L.incident .. id
end
for field, value in pairs(a.fields) do redis.call('HSET', ik, field, value) end
redis.call('HSET', ik, 'id', id, '_lastAlertMs', ms(a.nowMs), '_openedMs', ms(a.nowMs))
redis.call('EXPIRE', ik, a.retention)
redis.call('SET', a.k.alias, id, 'EX', a.aliasTtl)
redis.call('SET', a.k.open, id)
redis.call('SADD', L.live, id)
redis.call('ZADD', a.k.index, a.nowMs, id)
redis.call('ZADD', a.k.serviceIndex, a.nowMs, id)
redis.call('SADD', L.firing .. id, a.member)
redis.call('EXPIRE', L.firing .. id, a.retention)
redis.call('HSET', L.members .. id, a.member, a.memberJson)
redis.call('EXPIRE', L.members .. id, a.retention)
return {id, 'created', 'triggered', '1', '0', ''}
`);

/**
 * A trigger that came with a sender's delivery id, in one round trip for a storm's common case: claims
 * the delivery and joins the open incident in one step and, when the join leaves nothing else to do,
 * stores the delivery's answer too. As JOIN_PART, plus a.k.delivery; a: pendingMs, answerTtl.
 * Returns {'held', stored value ('pending' or the answer's JSON)} when another request holds the
 * delivery; else {claim, ...JOIN_PART's reply} ('', 'none', … when there is nothing to join), claim
 * 'answered' when the answer `{incident, status: 'duplicate'}` is stored (a repeat of a known member
 * or a newcomer the run in progress covers, no root sync due: ingest's trigger would queue nothing and
 * answer just that), else 'claimed': the claim stays pending for ingest to finish and answer.
 */
export const JOIN_DELIVERED = script(`${PRELUDE}
-- Nothing runs between this read and the write below (a script is atomic): one write, not claim then answer.
local held = redis.call('GET', a.k.delivery)
if held then return {'held', held} end
local function join()
${JOIN_PART}
end
local r = join()
if not r then r = {'', 'none', '', '0', '0', ''} end
if r[1] ~= '' and r[5] == '0' and (r[6] == '' or r[6] == 'covered') then
  -- Built as text so the answer reads as ingest's own JSON would: incident, then status.
  redis.call('SET', a.k.delivery, '{"incident":' .. cjson.encode(r[1]) .. ',"status":"duplicate"}', 'EX', a.answerTtl)
  return {'answered', r[1], r[2], r[3], r[4], r[5], r[6]}
end
redis.call('SET', a.k.delivery, 'pending', 'PX', a.pendingMs)
return {'claimed', r[1], r[2], r[3], r[4], r[5], r[6]}
`);

/**
 * \`/gateway check\`: a new run of the service's open incident if there is one (outcome 'rerun'),
 * else a check run of its own that holds no open slot, so later alerts never join it ('created').
 * a.k: open, index, serviceIndex; a: id, fields, nowMs, retention. Returns {id, outcome, run}.
 */
export const CHECK = script(`${PRELUDE}
local open = redis.call('GET', a.k.open)
if open then
  local ok = L.incident .. open
  local s = redis.call('HGET', ok, 'state')
  if s and s ~= 'resolved' and (redis.call('HGET', ok, 'requestedBy') or '') == '' then
    return {open, 'rerun', tostring(redis.call('HINCRBY', ok, 'run', 1))}
  end
end
local ik = L.incident .. a.id
for field, value in pairs(a.fields) do redis.call('HSET', ik, field, value) end
redis.call('HSET', ik, 'id', a.id, '_lastAlertMs', ms(a.nowMs), '_openedMs', ms(a.nowMs))
redis.call('EXPIRE', ik, a.retention)
redis.call('SADD', L.live, a.id)
redis.call('ZADD', a.k.index, a.nowMs, a.id)
redis.call('ZADD', a.k.serviceIndex, a.nowMs, a.id)
return {a.id, 'created', '1'}
`);

/**
 * One alert of an incident ended at its source. The incident resolves when none of its alerts
 * is firing any more; the ended marker makes a delayed retry of the firing alert a no-op.
 * a.k: alias, ended; a: member, nowIso, onsetMs, endedTtl, note.
 * Returns {id or '', outcome ('unknown' | 'already' | 'partial' | 'resolved'), alerts still firing}.
 */
export const RESOLVE = script(`${PRELUDE}${END_FN}
local marker = tonumber(redis.call('GET', a.k.ended) or '-1')
if a.onsetMs > marker then redis.call('SET', a.k.ended, ms(a.onsetMs), 'EX', a.endedTtl) end
local id = redis.call('GET', a.k.alias)
if not id then return {'', 'unknown', 0} end
local ik = L.incident .. id
local state = redis.call('HGET', ik, 'state')
if not state then return {'', 'unknown', 0} end
if state == 'resolved' then return {id, 'already', 0} end
local fk = L.firing .. id
redis.call('SREM', fk, a.member)
local left = redis.call('SCARD', fk)
if left > 0 then return {id, 'partial', left} end
endIncident(id, ik, 'source', a.note)
return {id, 'resolved', 0}
`);

/**
 * Marks an open incident acknowledged; a resolved one stays resolved. By the alert's alias
 * (a.k.alias) or by id (a.id); a: nowIso. Returns {id or '', outcome ('unknown' | 'resolved' | 'acknowledged')}.
 */
export const ACKNOWLEDGE = script(`${PRELUDE}
local id = a.id
if a.k.alias then id = redis.call('GET', a.k.alias) end
if not id or id == '' then return {'', 'unknown'} end
local ik = L.incident .. id
local state = redis.call('HGET', ik, 'state')
if not state then return {'', 'unknown'} end
if state == 'resolved' then return {id, 'resolved'} end
if state ~= 'acknowledged' then redis.call('HSET', ik, 'state', 'acknowledged', 'acknowledgedAt', a.nowIso) end
return {id, 'acknowledged'}
`);

/**
 * Reopens a resolved incident for another diagnosis run; a second reopen of the same one does nothing.
 * a.k: alias, ended; a: nowIso, nowMs, member ('' = not tracked), retention.
 * Returns {id or '', outcome ('unknown' | 'open' | 'reopened'), run}.
 */
export const REOPEN = script(`${PRELUDE}
local id = redis.call('GET', a.k.alias)
if not id then return {'', 'unknown', 0} end
local ik = L.incident .. id
local state = redis.call('HGET', ik, 'state')
if not state then return {'', 'unknown', 0} end
if state ~= 'resolved' then return {id, 'open', num(redis.call('HGET', ik, 'run'))} end
local run = redis.call('HINCRBY', ik, 'run', 1)
redis.call('HSET', ik, 'state', 'triggered', 'resolvedAt', '', 'acknowledgedAt', '', 'endReason', '', 'endNote', '',
  'lastAlertAt', a.nowIso, '_lastAlertMs', ms(a.nowMs), '_openedMs', ms(a.nowMs))
redis.call('SET', L.open .. redis.call('HGET', ik, 'service'), id)
redis.call('SADD', L.live, id)
redis.call('DEL', a.k.ended)
if a.member ~= '' then
  local fk = L.firing .. id
  redis.call('SADD', fk, a.member)
  redis.call('EXPIRE', fk, a.retention)
end
return {id, 'reopened', run}
`);

/**
 * A worker starts run a.run of incident a.id: triggered and diagnosed become diagnosing;
 * acknowledged and resolved stay. a: nowIso. Returns 'unknown', 'superseded' (a newer run exists) or 'ok'.
 */
export const BEGIN_DIAGNOSIS = script(`${PRELUDE}
local ik = L.incident .. a.id
local run = redis.call('HGET', ik, 'run')
if not run then return 'unknown' end
if tonumber(run) ~= a.run then return 'superseded' end
local state = redis.call('HGET', ik, 'state')
if state == 'triggered' or state == 'diagnosed' then
  redis.call('HSET', ik, 'state', 'diagnosing', 'diagnosingAt', a.nowIso)
end
return 'ok'
`);

/**
 * Run a.run of incident a.id has its verdict (a.verdict, JSON). Only diagnosing (or triggered)
 * becomes diagnosed, so a resolve or acknowledge that landed meanwhile stands; a check run ends here.
 * a: nowIso, nowMs, recovered, checkNote.
 * a.cap: how many members to return at most.
 * Returns {outcome ('unknown' | 'superseded' | 'done'), state, member count, member JSON...}: the members it covers.
 */
export const FINISH_DIAGNOSIS = script(`${PRELUDE}${END_FN}
local ik = L.incident .. a.id
local run = redis.call('HGET', ik, 'run')
if not run then return {'unknown', ''} end
if tonumber(run) ~= a.run then return {'superseded', redis.call('HGET', ik, 'state') or ''} end
redis.call('HSET', ik, 'verdict', a.verdict, 'verdictAt', a.nowIso, '_verdictMs', ms(a.nowMs),
  '_doneRun', tostring(a.run), '_recovered', a.recovered and '1' or '0')
local state = redis.call('HGET', ik, 'state')
if state == 'diagnosing' or state == 'triggered' then
  state = 'diagnosed'
  redis.call('HSET', ik, 'state', state)
end
if state ~= 'resolved' and (redis.call('HGET', ik, 'requestedBy') or '') ~= '' then
  endIncident(a.id, ik, 'check', a.checkNote)
  state = 'resolved'
end
-- Everyone who joined up to now is covered by this verdict; a storm's thousands are counted, a.cap named.
redis.call('DEL', L.pending .. a.id)
local mk = L.members .. a.id
local out = {'done', state, tostring(redis.call('HLEN', mk))}
local cursor = '0'
repeat
  local page = redis.call('HSCAN', mk, cursor, 'COUNT', a.cap)
  cursor = page[1]
  for i = 2, #page[2], 2 do
    if #out - 3 < a.cap then out[#out + 1] = page[2][i] end
  end
until cursor == '0' or #out - 3 >= a.cap
return out
`);

/**
 * Ends incident a.id for a.reason: 'manual' always; 'quiet' only when its latest verdict is
 * \`recovered\` and no alert came for a.quietMs; 'max-age' only when open longer than a.maxAgeMs.
 * a: nowIso, nowMs, note. Returns 'unknown', 'already', 'open' (the condition does not hold) or 'resolved'.
 */
export const END = script(`${PRELUDE}${END_FN}
local ik = L.incident .. a.id
local state = redis.call('HGET', ik, 'state')
if not state then
  redis.call('SREM', L.live, a.id)
  return 'unknown'
end
if state == 'resolved' then
  redis.call('SREM', L.live, a.id)
  return 'already'
end
if a.reason == 'quiet' then
  if redis.call('HGET', ik, '_recovered') ~= '1' then return 'open' end
  if num(redis.call('HGET', ik, '_doneRun')) < num(redis.call('HGET', ik, 'run')) then return 'open' end
  local last = math.max(num(redis.call('HGET', ik, '_lastAlertMs')), num(redis.call('HGET', ik, '_verdictMs')))
  if a.nowMs - last < a.quietMs then return 'open' end
elseif a.reason == 'max-age' then
  local opened = tonumber(redis.call('HGET', ik, '_openedMs') or '')
  -- An incident from before this field existed starts its clock now.
  if not opened then
    redis.call('HSET', ik, '_openedMs', ms(a.nowMs))
    return 'open'
  end
  if a.nowMs - opened < a.maxAgeMs then return 'open' end
elseif a.reason ~= 'manual' then
  return redis.error_reply('unknown end reason')
end
endIncident(a.id, ik, a.reason, a.note)
return 'resolved'
`);

/**
 * Claims a sender's delivery id, so that a retry, even one in flight at the
 * same moment as the original, is answered as the original was.
 * a.k: delivery; a: pendingMs. Returns nil when claimed, else the stored value.
 */
export const CLAIM = script(`${PRELUDE}
if redis.call('SET', a.k.delivery, 'pending', 'NX', 'PX', a.pendingMs) then return nil end
return redis.call('GET', a.k.delivery)
`);

/**
 * Spaces a root message's count and state edits by a.gapMs, whichever worker makes them: 0 when this
 * edit may go now (the next must wait a.gapMs), else the ms until it may. a.k: gate.
 */
export const ROOT_EDIT = script(`${PRELUDE}
if redis.call('SET', a.k.gate, '1', 'PX', a.gapMs, 'NX') then return 0 end
return math.max(1, redis.call('PTTL', a.k.gate))
`);

/** A Lua script with its SHA1, so the common case is one EVALSHA. */
export interface Script {
  readonly lua: string;
  readonly sha: string;
}

export function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** A script's one argument: named fields, `k` the keys it touches, `p` the store's prefix when it derives keys. */
export interface ScriptArgs {
  k?: Record<string, string>;
  p?: string;
  [field: string]: unknown;
}

/**
 * EVALSHA, falling back to EVAL once when Redis has not seen the script (new or restarted server).
 * The keys in `args.k` travel once, as KEYS (which routes the call on a Cluster), named in the
 * argument by `kn`. `args` is the caller's fresh object and is used as is (a webhook's path: no copies).
 */
export async function runScript<T>(redis: Redis | Cluster, s: Script, args: ScriptArgs): Promise<T> {
  const { k } = args;
  const keys = k ? Object.values(k) : [];
  // A script given no key still names one of the prefix's, to route it on a Cluster.
  if (keys.length === 0 && args.p !== undefined) keys.push(args.p + LAYOUT_SUFFIXES.live);
  args.k = undefined;
  args.kn = k ? Object.keys(k) : [];
  const json = JSON.stringify(args);
  try {
    return (await redis.evalsha(s.sha, keys.length, ...keys, json)) as T;
  } catch (err) {
    if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
    return (await redis.eval(s.lua, keys.length, ...keys, json)) as T;
  }
}
