import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/**
 * The incident store's atomic steps, as Lua run inside Redis: an alert storm
 * racing through many servers must see one consistent incident. Every key
 * shares the prefix's `{hash tag}`, so the keys a script builds from the prefix
 * live in the same Redis Cluster slot as the keys it is given.
 */

/**
 * The join half of opening an incident, shared by JOIN and OPEN_OR_JOIN.
 * KEYS: 1 alias (source:key → id), 2 open (service → id), 3 ended marker of the alert
 * ARGV: 1 prefix, 2 now ISO, 3 now ms, 4 alias ttl s, 5 retention s, 6 alert onset ms,
 *       7 firing member ('' = not tracked), 8 root-sync window ms
 * Returns {id, outcome, state, run, sync}: outcome 'late' means the alert already ended (a delayed
 * retry); sync '1' when no root-message sync was asked for within the window, so this join should ask.
 */
const JOIN_PART = `
local ended = redis.call('GET', KEYS[3])
if ended and tonumber(ARGV[6]) <= tonumber(ended) then
  return {redis.call('GET', KEYS[1]) or '', 'late', 'resolved', '0', '0'}
end
local id = redis.call('GET', KEYS[1])
if not id then id = redis.call('GET', KEYS[2]) end
if id then
  local ikey = ARGV[1] .. ':incident:' .. id
  local state = redis.call('HGET', ikey, 'state')
  if state and state ~= 'resolved' then
    redis.call('HINCRBY', ikey, 'alertCount', 1)
    redis.call('HSET', ikey, 'lastAlertAt', ARGV[2])
    redis.call('SET', KEYS[1], id, 'EX', ARGV[4])
    if ARGV[7] ~= '' then
      local fkey = ARGV[1] .. ':firing:' .. id
      redis.call('SADD', fkey, ARGV[7])
      redis.call('EXPIRE', fkey, ARGV[5])
    end
    local sync = redis.call('SET', ARGV[1] .. ':rootsync:' .. id, '1', 'PX', ARGV[8], 'NX') and '1' or '0'
    return {id, 'joined', state, redis.call('HGET', ikey, 'run') or '1', sync}
  end
end
`;

/** Joins the open incident of the alert or its service; outcome 'none' when there is none to join. */
export const JOIN = script(`${JOIN_PART}
return {'', 'none', '', '0', '0'}
`);

/**
 * Opens a new incident for a service, or joins the one already open (a racing alert may have opened it).
 * KEYS and ARGV as JOIN_PART, plus KEYS: 4 time index, 5 service index, 6 hash of the new id,
 * 7 hash of the fallback id; ARGV: 9 new id, 10 fallback id, 11.. the new incident's fields as pairs.
 */
export const OPEN_OR_JOIN = script(`${JOIN_PART}
local id = ARGV[9]
local ikey = KEYS[6]
-- An id seen before (a resolved PagerDuty incident sent as new) takes the fallback rather than overwrite history.
if redis.call('EXISTS', ikey) == 1 then
  id = ARGV[10]
  ikey = KEYS[7]
end
local fields = {}
for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', ikey, unpack(fields))
redis.call('HSET', ikey, 'id', id)
redis.call('EXPIRE', ikey, ARGV[5])
redis.call('SET', KEYS[1], id, 'EX', ARGV[4])
redis.call('SET', KEYS[2], id)
redis.call('ZADD', KEYS[4], ARGV[3], id)
redis.call('ZADD', KEYS[5], ARGV[3], id)
if ARGV[7] ~= '' then
  local fkey = ARGV[1] .. ':firing:' .. id
  redis.call('SADD', fkey, ARGV[7])
  redis.call('EXPIRE', fkey, ARGV[5])
end
return {id, 'created', 'triggered', '1', '0'}
`);

/**
 * One alert of an incident ended. The incident resolves when none of its alerts
 * is firing any more; the ended marker makes a delayed retry of the firing alert a no-op.
 * KEYS: 1 alias, 2 ended marker
 * ARGV: 1 prefix, 2 firing member, 3 now ISO, 4 marker value (the alert's onset ms), 5 marker ttl s
 * Returns {id or '', outcome ('unknown' | 'already' | 'partial' | 'resolved'), alerts still firing}.
 */
export const RESOLVE = script(`
local marker = tonumber(redis.call('GET', KEYS[2]) or '-1')
if tonumber(ARGV[4]) > marker then redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5]) end
local id = redis.call('GET', KEYS[1])
if not id then return {'', 'unknown', 0} end
local ikey = ARGV[1] .. ':incident:' .. id
local state = redis.call('HGET', ikey, 'state')
if not state then return {'', 'unknown', 0} end
if state == 'resolved' then return {id, 'already', 0} end
local fkey = ARGV[1] .. ':firing:' .. id
redis.call('SREM', fkey, ARGV[2])
local left = redis.call('SCARD', fkey)
if left > 0 then return {id, 'partial', left} end
redis.call('HSET', ikey, 'state', 'resolved', 'resolvedAt', ARGV[3])
local okey = ARGV[1] .. ':open:' .. redis.call('HGET', ikey, 'service')
if redis.call('GET', okey) == id then redis.call('DEL', okey) end
return {id, 'resolved', 0}
`);

/**
 * Marks an open incident acknowledged; a resolved one stays resolved.
 * KEYS: 1 alias. ARGV: 1 prefix, 2 now ISO. Returns {id or '', outcome ('unknown' | 'resolved' | 'acknowledged')}.
 */
export const ACKNOWLEDGE = script(`
local id = redis.call('GET', KEYS[1])
if not id then return {'', 'unknown'} end
local ikey = ARGV[1] .. ':incident:' .. id
local state = redis.call('HGET', ikey, 'state')
if not state then return {'', 'unknown'} end
if state == 'resolved' then return {id, 'resolved'} end
if state ~= 'acknowledged' then redis.call('HSET', ikey, 'state', 'acknowledged', 'acknowledgedAt', ARGV[2]) end
return {id, 'acknowledged'}
`);

/**
 * Reopens a resolved incident for another diagnosis run; a second reopen of the same one does nothing.
 * KEYS: 1 alias, 2 ended marker. ARGV: 1 prefix, 2 now ISO, 3 firing member ('' = not tracked), 4 retention s
 * Returns {id or '', outcome ('unknown' | 'open' | 'reopened'), run}.
 */
export const REOPEN = script(`
local id = redis.call('GET', KEYS[1])
if not id then return {'', 'unknown', 0} end
local ikey = ARGV[1] .. ':incident:' .. id
local state = redis.call('HGET', ikey, 'state')
if not state then return {'', 'unknown', 0} end
if state ~= 'resolved' then return {id, 'open', tonumber(redis.call('HGET', ikey, 'run') or '1')} end
local run = redis.call('HINCRBY', ikey, 'run', 1)
redis.call('HSET', ikey, 'state', 'triggered', 'resolvedAt', '', 'acknowledgedAt', '', 'lastAlertAt', ARGV[2])
redis.call('SET', ARGV[1] .. ':open:' .. redis.call('HGET', ikey, 'service'), id)
redis.call('DEL', KEYS[2])
if ARGV[3] ~= '' then
  local fkey = ARGV[1] .. ':firing:' .. id
  redis.call('SADD', fkey, ARGV[3])
  redis.call('EXPIRE', fkey, ARGV[4])
end
return {id, 'reopened', run}
`);

/**
 * Claims a sender's delivery id, so that a retry, even one in flight at the
 * same moment as the original, is answered as the original was.
 * KEYS: 1 delivery key. ARGV: 1 pending ttl ms. Returns nil when claimed, else the stored value.
 */
export const CLAIM = script(`
if redis.call('SET', KEYS[1], 'pending', 'NX', 'PX', ARGV[1]) then return nil end
return redis.call('GET', KEYS[1])
`);

/** A Lua script with its SHA1, so the common case is one EVALSHA. */
export interface Script {
  readonly lua: string;
  readonly sha: string;
}

export function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** EVALSHA, falling back to EVAL once when Redis has not seen the script (new or restarted server). */
export async function runScript<T>(
  redis: Redis | Cluster,
  s: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<T> {
  try {
    return (await redis.evalsha(s.sha, keys.length, ...keys, ...args)) as T;
  } catch (err) {
    if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
    return (await redis.eval(s.lua, keys.length, ...keys, ...args)) as T;
  }
}
