import { randomBytes } from 'node:crypto';
import { loadImage } from '@napi-rs/canvas';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildDigest } from '../../src/digest/build.js';
import { type PostDeps, postDigest, postedKey, REPOST_AFTER_MS } from '../../src/digest/post.js';
import { isGatewatchError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { createSlackClient } from '../../src/slack/client.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { incidentOf, TWO_WEEKS } from './seed.js';

const NOW = new Date('2026-03-09T00:30:00Z');

describe('posting the digest to Slack', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let slack: FakeSlack;
  let deps: PostDeps;
  const all = TWO_WEEKS.map(incidentOf);
  const digest = buildDigest(all, '2026-W10', all, 'UTC', NOW);

  beforeAll(async () => {
    server = await startRedis();
    redis = server.client();
    slack = await new FakeSlack().start();
  });
  afterAll(async () => {
    await slack.stop();
    await server.destroy();
  });
  beforeEach(() => {
    deps = {
      client: createSlackClient({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: slack.url }),
      redis,
      // A fresh prefix per test: each starts with the week unposted.
      prefix: `{gwpost-${randomBytes(3).toString('hex')}}`,
      log: silentLogger(),
    };
    slack.calls.length = 0;
    slack.messages.length = 0;
  });

  it('posts the message, then the chart into its thread through the external upload flow', async () => {
    const res = await postDigest(deps, digest, '#reliability', 'scheduled');
    expect(res.posted).toBe(true);
    if (!res.posted) return;
    expect(res.chart).toBe(true);
    const [msg] = slack.roots();
    expect(msg?.ts).toBe(res.ts);
    expect(msg?.blocks?.length).toBeGreaterThan(3);
    expect(msg?.text).toContain('Weekly reliability digest 2026-W10');

    const [getUrl] = slack.callsOf('files.getUploadURLExternal');
    const [complete] = slack.callsOf('files.completeUploadExternal');
    expect(getUrl?.args.filename).toBe('gatewatch-digest-2026-W10.png');
    expect(complete?.args).toMatchObject({ channel_id: msg?.channel, thread_ts: msg?.ts });
    const files = complete?.args.files as { id: string; title: string }[];
    expect(files).toHaveLength(1);
    const upload = slack.uploads.get(files[0]!.id);
    expect(upload?.title).toBe('502 incidents per day by cause, 2026-W10');
    expect(Number(getUrl?.args.length)).toBe(upload?.bytes?.length);
    const img = await loadImage(upload!.bytes!);
    expect([img.width, img.height]).toEqual([800, 400]);
    // The order Slack requires: URL, bytes, completion — all after the message.
    const order = slack.calls.map((c) => c.method);
    expect(order).toEqual(['chat.postMessage', 'files.getUploadURLExternal', 'files.completeUploadExternal']);
  });

  it('posts once when several posters race for the same week and channel', async () => {
    const results = await Promise.all(
      Array.from({ length: 4 }, () => postDigest(deps, digest, '#reliability', 'scheduled')),
    );
    expect(results.filter((r) => r.posted)).toHaveLength(1);
    expect(results.filter((r) => !r.posted).map((r) => !r.posted && r.reason)).toEqual([
      'already-posted',
      'already-posted',
      'already-posted',
    ]);
    expect(slack.callsOf('chat.postMessage')).toHaveLength(1);
    expect(slack.callsOf('files.completeUploadExternal')).toHaveLength(1);
    // Another channel is another digest.
    expect((await postDigest(deps, digest, '#other', 'scheduled')).posted).toBe(true);
  });

  it('a scheduled run never posts a week twice; a request does, unless it repeats one minutes old', async () => {
    let clock = NOW.getTime();
    deps.now = () => clock;
    expect((await postDigest(deps, digest, '#reliability', 'scheduled')).posted).toBe(true);
    clock += REPOST_AFTER_MS / 2;
    expect(await postDigest(deps, digest, '#reliability', 'manual')).toMatchObject({
      posted: false,
      reason: 'already-posted',
    });
    clock += REPOST_AFTER_MS;
    expect(await postDigest(deps, digest, '#reliability', 'scheduled')).toMatchObject({ posted: false });
    expect((await postDigest(deps, digest, '#reliability', 'manual')).posted).toBe(true);
    // The re-post counts as the latest: the schedule still does not post again.
    expect(await postDigest(deps, digest, '#reliability', 'scheduled')).toMatchObject({ posted: false });
    expect(slack.callsOf('chat.postMessage')).toHaveLength(2);
  });

  it('the schedule posting by channel name and a request typed in that channel (its id) share one guard', async () => {
    const first = await postDigest(deps, digest, '#reliability', 'scheduled');
    expect(first.posted).toBe(true);
    const id = first.posted ? first.channel : '';
    expect(id).toMatch(/^C[A-Z0-9]+$/);
    expect(await postDigest(deps, digest, id, 'manual')).toMatchObject({
      posted: false,
      reason: 'already-posted',
    });
    // The other way round, for another week: the request comes first, the schedule does not repeat it.
    const w09 = buildDigest(all, '2026-W09', all, 'UTC', NOW);
    expect((await postDigest(deps, w09, id, 'manual')).posted).toBe(true);
    expect(await postDigest(deps, w09, '#reliability', 'scheduled')).toMatchObject({ posted: false });
    expect(slack.callsOf('chat.postMessage').map((c) => c.args.channel)).toEqual(['#reliability', id]);
  });

  it('a failed post releases its claim so the retry posts, once', async () => {
    slack.failNext('chat.postMessage', { error: 'channel_not_found' });
    let err: unknown;
    try {
      await postDigest(deps, digest, '#reliability', 'scheduled');
    } catch (e) {
      err = e;
    }
    expect(isGatewatchError(err, 'SLACK_API')).toBe(true);
    expect(await redis.exists(postedKey(deps.prefix, '2026-W10', '#reliability'))).toBe(0);
    expect((await postDigest(deps, digest, '#reliability', 'scheduled')).posted).toBe(true);
    expect(await postDigest(deps, digest, '#reliability', 'scheduled')).toMatchObject({ posted: false });
    expect(slack.roots()).toHaveLength(1);
  });

  it('a failed chart upload leaves the digest posted, without a second message', async () => {
    slack.failNext('files.getUploadURLExternal', { error: 'invalid_arguments' });
    const res = await postDigest(deps, digest, '#reliability', 'scheduled');
    expect(res).toMatchObject({ posted: true, chart: false });
    expect(slack.roots()).toHaveLength(1);
    expect(slack.callsOf('files.completeUploadExternal')).toHaveLength(0);
  });
});
