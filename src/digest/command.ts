import { loadConfig } from '../config.js';
import { GatewatchError } from '../errors.js';
import { createLogger } from '../log.js';
import { connectRedis, whenReady } from '../redis.js';
import { createSlackClient } from '../slack/client.js';
import { IncidentStore } from '../store/store.js';
import { composeDigest } from './job.js';
import { postDigest, REPOST_AFTER_MS } from './post.js';
import { renderDigestText } from './render-text.js';
import { parseWeek } from './week.js';

/**
 * `gatewatch digest [--week YYYY-Www] [--print]`: builds the digest from Redis; prints
 * it, or posts it to DIGEST_CHANNEL (else SLACK_CHANNEL) as a person's request would.
 */
export async function runDigestCommand(
  opts: { week?: string; print?: boolean },
  out: (s: string) => void,
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  const config = loadConfig(env);
  // A malformed week is a usage error (exit 2) before anything is contacted.
  const week = opts.week === undefined ? undefined : parseWeek(opts.week);
  if (!opts.print && !config.SLACK_BOT_TOKEN)
    throw new GatewatchError(
      'CONFIG_INVALID',
      'SLACK_BOT_TOKEN is not set, so the digest cannot be posted; add --print to write it to stdout',
    );
  const log = createLogger({ level: env.LOG_LEVEL ?? 'warn' });
  const redis = connectRedis(config, 'http');
  try {
    if (!(await whenReady(redis, 3000)))
      throw new GatewatchError(
        'REDIS_UNAVAILABLE',
        'Redis (REDIS_URL) is not reachable; the digest reads it',
      );
    const store = new IncidentStore(redis, config.REDIS_PREFIX, config.HISTORY_RETENTION_DAYS);
    const digest = await composeDigest(store, week, config.DIGEST_TZ, new Date());
    if (opts.print) {
      out(renderDigestText(digest));
      return;
    }
    const channel = config.DIGEST_CHANNEL ?? config.SLACK_CHANNEL;
    const res = await postDigest(
      { client: createSlackClient(config, {}, log), redis, prefix: config.REDIS_PREFIX, log },
      digest,
      channel,
      'manual',
    );
    out(
      res.posted
        ? `Posted the ${digest.week} digest to ${channel}${res.chart ? ' with its chart' : ' (the chart upload failed)'}.\n`
        : `Not posted: the ${digest.week} digest went to ${channel} less than ${REPOST_AFTER_MS / 60_000} minutes ago.\n`,
    );
  } finally {
    redis.disconnect();
  }
}
