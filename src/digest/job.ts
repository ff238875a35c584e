import type { WebClient } from '@slack/web-api';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';
import type { IncidentStore } from '../store/store.js';
import { buildDigest, CAPACITY_WEEKS } from './build.js';
import { IncidentHistory } from './history.js';
import { type PostResult, postDigest } from './post.js';
import type { Digest } from './types.js';
import { type IsoWeek, lastCompleteWeek, parseWeek, previousWeek, weekRange } from './week.js';

/** Reads the week and the one before from Redis (trimming old index entries first) and builds the digest. */
export async function composeDigest(
  store: Pick<IncidentStore, 'between' | 'trimHistory'>,
  week: IsoWeek | undefined,
  tz: string,
  now: Date,
): Promise<Digest> {
  const history = new IncidentHistory(store);
  await history.trim(now);
  const w = week ?? lastCompleteWeek(now, tz);
  const [current, previous, recent] = await Promise.all([
    history.forWeek(weekRange(w, tz)),
    history.forWeek(weekRange(previousWeek(w), tz)),
    history.forWeeksEnding(weekRange(w, tz), CAPACITY_WEEKS),
  ]);
  return buildDigest(current, w, previous, tz, now, recent);
}

/** A digest to build: the last complete week unless one is named; the default channel unless one is named. */
export interface DigestRequest {
  week?: string;
  channel?: string;
}

export interface DigestJobDeps {
  store: Pick<IncidentStore, 'between' | 'trimHistory'>;
  /** The digest's own records (posted-once claims), beside the incidents. */
  redis: RedisClient;
  prefix: string;
  /** null when SLACK_BOT_TOKEN is unset: the digest is built and logged, not posted. */
  slack: WebClient | null;
  /** DIGEST_CHANNEL, else SLACK_CHANNEL. */
  channel: string;
  tz: string;
  now?: () => Date;
}

export type DigestJobResult = PostResult | { posted: false; reason: 'no-slack'; week: string };

/**
 * The worker's `digest` job. Without a channel in the job it is the scheduler's
 * weekly run (posted once per week); with one, a person asked via `/gateway digest`.
 */
export function createDigestHandler(deps: DigestJobDeps) {
  return async (data: DigestRequest, log: Logger): Promise<DigestJobResult> => {
    const now = (deps.now ?? (() => new Date()))();
    const digest = await composeDigest(
      deps.store,
      data.week ? parseWeek(data.week) : undefined,
      deps.tz,
      now,
    );
    const channel = data.channel ?? deps.channel;
    const scoped = log.child({ week: digest.week, channel });
    if (!deps.slack) {
      scoped.info(
        { incidents: digest.overall.incidents },
        'digest built; SLACK_BOT_TOKEN is not set, not posted',
      );
      return { posted: false, reason: 'no-slack', week: digest.week };
    }
    return postDigest(
      { client: deps.slack, redis: deps.redis, prefix: deps.prefix, log: scoped },
      digest,
      channel,
      data.channel ? 'manual' : 'scheduled',
    );
  };
}
