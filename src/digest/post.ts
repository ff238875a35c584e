import { randomUUID } from 'node:crypto';
import type { WebClient } from '@slack/web-api';
import { errorMessage, GatewatchError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';
import { digestFallbackText, renderDigestBlocks } from './render-blocks.js';
import type { Digest } from './types.js';
import { uploadChart } from './upload-chart.js';

/**
 * `scheduled`: the week's digest is posted to a channel once, ever (the scheduler may
 * fire on several workers, a job may be retried). `manual` (`/gateway digest`, the CLI
 * without --print): a person asked, so it is posted again — unless the same week went to
 * the same channel less than REPOST_AFTER_MS ago, which is a race or a double click.
 */
export type PostMode = 'scheduled' | 'manual';

export const REPOST_AFTER_MS = 10 * 60_000;
/** How long a claim blocks others while its holder posts; a crashed holder's claim lapses after this. */
const CLAIM_TTL_S = 60;
/** Longer than a week, so a cron firing daily still posts each week once. */
const POSTED_TTL_S = 35 * 24 * 3600;
const BUSY_POLL_MS = 250;
const SLACK_ID = /^[CGD][A-Z0-9]{6,}$/;

/**
 * KEYS[1] the week+channel record. ARGV: token, now ms, mode, repost-after ms, claim ttl s.
 * Returns {outcome, previous record or ''}; outcome is claimed | busy | posted.
 */
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if v then
  local rec = cjson.decode(v)
  if rec.state == 'claimed' then return {'busy', v} end
  if ARGV[3] ~= 'manual' or tonumber(ARGV[2]) - tonumber(rec.at) < tonumber(ARGV[4]) then return {'posted', v} end
end
redis.call('SET', KEYS[1], cjson.encode({state = 'claimed', token = ARGV[1], at = ARGV[2]}), 'EX', ARGV[5])
return {'claimed', v or ''}
`;

/** KEYS[1] the record. ARGV: token, the value to put back ('' = delete), its ttl s. Only while the claim is ours. */
const RELEASE = `
local v = redis.call('GET', KEYS[1])
if not v or cjson.decode(v).token ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
return 1
`;

export interface PostDeps {
  client: WebClient;
  redis: RedisClient;
  prefix: string;
  log: Logger;
  now?: () => number;
}

export type PostResult =
  | { posted: true; channel: string; ts: string; chart: boolean }
  | { posted: false; reason: 'already-posted' | 'busy'; ts?: string };

export function postedKey(prefix: string, week: string, channel: string): string {
  return `${prefix}:digest:posted:${week}:${channel}`;
}

function channelIdKey(prefix: string, name: string): string {
  return `${prefix}:digest:channel-id:${name}`;
}

/**
 * The channel a claim is taken on: its id where known. DIGEST_CHANNEL may be a name
 * (#reliability) while `/gateway digest` typed in that channel gives its id; both must
 * meet at one key, or the schedule and a request racing it would both post.
 */
async function guardChannel(deps: PostDeps, channel: string): Promise<string> {
  if (SLACK_ID.test(channel)) return channel;
  return (await deps.redis.get(channelIdKey(deps.prefix, channel))) ?? channel;
}

async function claim(
  deps: PostDeps,
  key: string,
  token: string,
  mode: PostMode,
): Promise<{ outcome: 'claimed' | 'busy' | 'posted'; previous: string }> {
  const now = (deps.now ?? Date.now)();
  const [outcome, previous] = (await deps.redis.eval(
    CLAIM,
    1,
    key,
    token,
    String(now),
    mode,
    String(REPOST_AFTER_MS),
    String(CLAIM_TTL_S),
  )) as ['claimed' | 'busy' | 'posted', string];
  return { outcome, previous };
}

/** Waits out another poster's claim: it either posts (then we need not) or lapses (then we take over). */
async function claimOrWait(deps: PostDeps, key: string, token: string, mode: PostMode) {
  const deadline = Date.now() + (CLAIM_TTL_S + 5) * 1000;
  for (;;) {
    const res = await claim(deps, key, token, mode);
    if (res.outcome !== 'busy' || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, BUSY_POLL_MS));
  }
}

/** Posts the digest, then its chart in the digest's thread; at most once per week and channel as `mode` says. */
export async function postDigest(
  deps: PostDeps,
  digest: Digest,
  channel: string,
  mode: PostMode,
): Promise<PostResult> {
  const key = postedKey(deps.prefix, digest.week, await guardChannel(deps, channel));
  const token = randomUUID();
  const log = deps.log.child({ week: digest.week, channel, mode });
  const { outcome, previous } = await claimOrWait(deps, key, token, mode);
  if (outcome !== 'claimed') {
    const ts = outcome === 'posted' ? (JSON.parse(previous) as { ts?: string }).ts : undefined;
    log.info({ outcome, ts }, 'digest not posted: already posted or being posted');
    return { posted: false, reason: outcome === 'posted' ? 'already-posted' : 'busy', ts };
  }
  let res: Awaited<ReturnType<WebClient['chat']['postMessage']>>;
  try {
    res = await deps.client.chat.postMessage({
      channel,
      text: digestFallbackText(digest),
      blocks: renderDigestBlocks(digest),
      unfurl_links: false,
    });
    if (!res.ok || !res.ts || !res.channel) throw new Error(res.error ?? 'no ts in the answer');
  } catch (err) {
    await deps.redis.eval(RELEASE, 1, key, token, previous, String(POSTED_TTL_S));
    throw new GatewatchError('SLACK_API', `posting the ${digest.week} digest failed: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const record = JSON.stringify({ state: 'posted', token, at: String((deps.now ?? Date.now)()), ts: res.ts });
  await deps.redis.set(key, record, 'EX', POSTED_TTL_S);
  if (res.channel !== channel) {
    // Posted by name: remember the id, so a request typed in that channel (which knows only the id) shares the guard.
    await deps.redis.set(channelIdKey(deps.prefix, channel), res.channel, 'EX', POSTED_TTL_S);
    await deps.redis.set(postedKey(deps.prefix, digest.week, res.channel), record, 'EX', POSTED_TTL_S);
  }
  const chart = await uploadChart(deps, digest, res.channel, res.ts);
  log.info({ ts: res.ts, chart }, 'digest posted');
  return { posted: true, channel: res.channel, ts: res.ts, chart };
}
