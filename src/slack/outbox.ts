import { setTimeout as sleep } from 'node:timers/promises';
import { type ChatPostMessageArguments, ErrorCode, type WebClient } from '@slack/web-api';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { isGatewatchError } from '../errors.js';
import type { Logger } from '../log.js';
import { incidentKeys } from '../store/keys.js';
import { callSlack } from './client.js';

/**
 * The outbox side of posting to Slack. A post is announced in Redis before it is
 * sent; whoever finds an announcement without a stored ts cannot know whether
 * Slack took the message, so it looks in the channel (every gatewatch message
 * carries metadata naming its incident and run) before posting again.
 */

export const ROOT_EVENT = 'gatewatch_incident';
export const VERDICT_EVENT = 'gatewatch_verdict';

/** How far before the announcement the history search starts: Slack's clock and ours differ a little. */
const CLOCK_SKEW_MS = 120_000;
const PAGE_SIZE = 50;
/** A channel busy enough to bury the message deeper than this is left to the rare duplicate. */
const MAX_PAGES = 4;

const SLACK_ID = /^[CGD][A-Z0-9]{6,}$/;

export const isConversationId = (channel: string) => SLACK_ID.test(channel);

export interface Posted {
  channel: string;
  ts: string;
}

export interface Claim {
  /** No earlier attempt announced this post: nothing to look for. */
  first: boolean;
  /** When the first attempt announced it, ms since the epoch. */
  since: number;
}

/** Announcements of posts, and the channel ids learnt for `#names`, in Redis under the store's prefix. */
export class PostingIntents {
  private readonly intentKey: (incidentId: string) => string;
  private readonly leaseKey: (incidentId: string, what: string) => string;
  private readonly channelsKey: string;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
    private readonly ttlSeconds: number,
  ) {
    const keys = incidentKeys(prefix);
    this.intentKey = keys.slackPosting;
    this.channelsKey = keys.slackChannels;
    this.leaseKey = keys.slackLease;
  }

  /**
   * Takes the lease of posting `what` for `ms`, so a concurrent attempt (a second worker on the
   * same run) waits for this one's ts instead of posting too. Returns the token to release it with,
   * or null while another attempt holds it; a crashed holder's lease runs out by itself.
   */
  async lease(incidentId: string, what: string, ms: number): Promise<string | null> {
    const token = `${process.pid}:${Math.random().toString(36).slice(2)}`;
    const res = await this.redis.set(this.leaseKey(incidentId, what), token, 'PX', ms, 'NX');
    return res === 'OK' ? token : null;
  }

  async release(incidentId: string, what: string, token: string): Promise<void> {
    await this.redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
      1,
      this.leaseKey(incidentId, what),
      token,
    );
  }

  /** Announces a post of `what` (`root`, `verdict:RUN`); an earlier announcement wins, so its time is kept. */
  async claim(incidentId: string, what: string, now = Date.now()): Promise<Claim> {
    const key = this.intentKey(incidentId);
    const res = await this.redis
      .multi()
      .hsetnx(key, what, String(now))
      .hget(key, what)
      .expire(key, this.ttlSeconds)
      .exec();
    const set = res?.[0]?.[1];
    const since = Number(res?.[1]?.[1]);
    return { first: set === 1, since: Number.isFinite(since) ? since : now };
  }

  /** chat.postMessage takes `#name`, conversations.* only ids: remember what a name resolved to. */
  async rememberChannel(name: string, id: string): Promise<void> {
    if (name === id || isConversationId(name)) return;
    await this.redis
      .multi()
      .hset(this.channelsKey, name, id)
      .expire(this.channelsKey, this.ttlSeconds)
      .exec();
  }

  async channelId(name: string): Promise<string | null> {
    if (isConversationId(name)) return name;
    return this.redis.hget(this.channelsKey, name);
  }
}

const ListedMessage = z.object({
  ts: z.string(),
  thread_ts: z.string().optional(),
  metadata: z
    .object({ event_type: z.string(), event_payload: z.record(z.string(), z.unknown()).optional() })
    .optional(),
});

const Listing = z.object({
  messages: z.array(z.unknown()).default([]),
  has_more: z.boolean().optional(),
  response_metadata: z.object({ next_cursor: z.string().optional() }).optional(),
});

type Listed = z.infer<typeof ListedMessage>;

/** Walks the pages of a conversations.* listing until `match` finds a message. */
async function searchPages(
  what: string,
  fetchPage: (cursor?: string) => Promise<unknown>,
  match: (m: Listed) => boolean,
): Promise<string | null> {
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const listing = Listing.safeParse(await fetchPage(cursor));
    if (!listing.success) throw new Error(`${what}: unexpected answer from Slack`);
    for (const raw of listing.data.messages) {
      const m = ListedMessage.safeParse(raw);
      if (m.success && match(m.data)) return m.data.ts;
    }
    cursor = listing.data.response_metadata?.next_cursor;
    if (!listing.data.has_more || !cursor) return null;
  }
  return null;
}

/** The ts of the incident's root message in `channel`, posted no earlier than a little before `since`. */
export function findRootTs(
  client: WebClient,
  channel: string,
  incidentId: string,
  since: number,
): Promise<string | null> {
  const oldest = ((since - CLOCK_SKEW_MS) / 1000).toFixed(6);
  return searchPages(
    'conversations.history',
    (cursor) =>
      callSlack('conversations.history', () =>
        client.conversations.history({
          channel,
          oldest,
          include_all_metadata: true,
          limit: PAGE_SIZE,
          ...(cursor ? { cursor } : {}),
        }),
      ),
    (m) =>
      m.metadata?.event_type === ROOT_EVENT &&
      m.metadata.event_payload?.incident === incidentId &&
      (m.thread_ts === undefined || m.thread_ts === m.ts),
  );
}

/** The ts of the run's verdict reply in the thread under `rootTs`. */
export function findVerdictTs(
  client: WebClient,
  channel: string,
  rootTs: string,
  run: number,
): Promise<string | null> {
  return searchPages(
    'conversations.replies',
    (cursor) =>
      callSlack('conversations.replies', () =>
        client.conversations.replies({
          channel,
          ts: rootTs,
          include_all_metadata: true,
          limit: PAGE_SIZE,
          ...(cursor ? { cursor } : {}),
        }),
      ),
    (m) =>
      m.ts !== rootTs &&
      m.metadata?.event_type === VERDICT_EVENT &&
      Number(m.metadata.event_payload?.run) === run,
  );
}

/**
 * A lookup with the outbox's policy: an answer Slack will keep giving (missing
 * scope, not in channel) means we cannot know, so the caller posts and accepts
 * the rare duplicate; anything that may pass (rate limit, 5xx, network) is
 * thrown, so the job is retried rather than risking a second message.
 */
export async function lookup(
  what: string,
  find: () => Promise<Posted | null>,
  log: Logger,
): Promise<Posted | null> {
  try {
    return await find();
  } catch (err) {
    if (isGatewatchError(err, 'SLACK_API') && !err.retryable) {
      log.warn({ what, slackError: err.details?.slackError }, 'cannot look for an earlier post; posting');
      return null;
    }
    throw err;
  }
}

/** Slack error codes of the WebClient that leave open whether the message was stored. */
const UNKNOWN_OUTCOME = new Set<string>([ErrorCode.RequestError, ErrorCode.HTTPError]);

function slackCause(err: unknown): { code?: string; retryAfter?: number } {
  const cause = (err as { cause?: unknown } | null)?.cause;
  return typeof cause === 'object' && cause !== null ? (cause as { code?: string; retryAfter?: number }) : {};
}

/**
 * chat.postMessage through a client that does not retry by itself: a retry of a
 * post whose answer was lost (network error, timeout, 5xx) first asks `find`
 * whether Slack stored it. Rate limits are waited out; nothing was posted then.
 */
export async function postOnce(opts: {
  client: WebClient;
  args: ChatPostMessageArguments;
  find: () => Promise<Posted | null>;
  log: Logger;
  attempts?: number;
  baseDelayMs?: number;
}): Promise<Posted & { adopted: boolean }> {
  const attempts = opts.attempts ?? 6;
  const base = opts.baseDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await callSlack('chat.postMessage', () => opts.client.chat.postMessage(opts.args));
      return { channel: String(res.channel ?? opts.args.channel), ts: String(res.ts), adopted: false };
    } catch (err) {
      if (attempt >= attempts) throw err;
      const cause = slackCause(err);
      if (cause.code === ErrorCode.RateLimitedError) {
        await sleep(Math.max(1, cause.retryAfter ?? 1) * 1000);
        continue;
      }
      if (!cause.code || !UNKNOWN_OUTCOME.has(cause.code)) throw err;
      opts.log.warn(
        { attempt, slackError: cause.code },
        'no answer to a post; looking whether Slack took it',
      );
      const found = await lookup('chat.postMessage', opts.find, opts.log);
      if (found) return { ...found, adopted: true };
      await sleep(Math.min(5000, base * 2 ** (attempt - 1)));
    }
  }
}

/** WebClient options for the client posts go through: no retries of its own, rate limits handed back. */
export const POST_CLIENT_OPTIONS = {
  retryConfig: { retries: 0 },
  rejectRateLimitedCalls: true,
} as const;
