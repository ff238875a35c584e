import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { CHECKS } from '../../src/checks/registry.js';
import type { Check } from '../../src/checks/types.js';
import { silentLogger } from '../../src/log.js';
import { createNotifier } from '../../src/notify/notifier.js';
import { PagerDutyClient } from '../../src/pagerduty/client.js';
import { type DiagnoseDeps, diagnoseIncident } from '../../src/queue/diagnose.js';
import { createSlackClient } from '../../src/slack/client.js';
import { PostingIntents } from '../../src/slack/outbox.js';
import { SlackThread } from '../../src/slack/thread.js';
import { IncidentStore } from '../../src/store/store.js';
import { FakePagerDuty } from '../helpers/fake-pagerduty.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { playbook } from '../helpers/gatewatch.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { refusingUpstream, type Upstream } from '../helpers/upstreams.js';

describe('delivery to Slack: retried, never duplicated', () => {
  let redis: PrivateRedis;
  let client: Redis;
  let slack: FakeSlack;
  let pd: FakePagerDuty;
  let upstream: Upstream;
  let store: IncidentStore;
  let prefixN = 0;

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    slack = await new FakeSlack().start();
    pd = await new FakePagerDuty('pd-token').start();
    upstream = await refusingUpstream();
  });

  afterAll(async () => {
    await slack?.stop();
    await pd?.stop();
    await upstream?.close();
    await redis?.destroy();
  });

  let prefix = '';
  beforeEach(() => {
    prefix = `{delivery-${++prefixN}}`;
    store = new IncidentStore(client, prefix);
  });

  const shop = () =>
    playbook({
      service: 'shop',
      slack: { channel: '#shop' },
      checks: { upstream: { targets: [upstream.url], timeout_ms: 300, probes: 1 } },
    });

  function deps(
    extra: Partial<Pick<DiagnoseDeps, 'playbooks' | 'checkRegistry'>> & {
      pagerduty?: PagerDutyClient;
      rootEditIntervalMs?: number;
    } = {},
  ) {
    const web = createSlackClient(
      { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: slack.url },
      { retryConfig: { retries: 4, factor: 1, minTimeout: 50, maxTimeout: 100 } },
    );
    const { pagerduty = null, rootEditIntervalMs, ...rest } = extra;
    const log = silentLogger();
    const thread = new SlackThread({
      client: web,
      store,
      intents: new PostingIntents(client, prefix, 3600),
      defaultChannel: '#incidents',
      log,
    });
    return {
      store,
      playbooks: new Map([['shop', shop()]]),
      slack: thread,
      notifier: createNotifier({ store, slack: thread, pagerduty, log, rootEditIntervalMs }),
      log,
      env: {},
      ...rest,
    };
  }

  async function openIncident(source = 'pagerduty', key = `PD${prefixN}`) {
    const res = await store.openOrJoin({
      source,
      key,
      service: 'shop',
      title: '502 Bad Gateway',
      onsetAt: new Date().toISOString(),
      preferredId: key,
    });
    return res.id;
  }

  const threadOf = (incidentId: string) => {
    const roots = slack.roots().filter((r) => r.text.includes(`pagerduty ${incidentId}`));
    return { roots, verdicts: roots.flatMap((r) => slack.replies(r.ts).filter((m) => m.metadata)) };
  };

  it('429 with Retry-After, ok:false ratelimited, 5xx and a cut connection: exactly one root and one verdict', async () => {
    const id = await openIncident();
    slack.failNext(
      'chat.postMessage',
      { status: 429, retryAfter: 1 },
      { error: 'ratelimited' },
      { status: 503 },
      { drop: true },
      { status: 500 },
    );
    const before = slack.callsOf('chat.postMessage').length;
    const v = await diagnoseIncident({ incidentId: id, run: 1 }, deps());
    expect(v?.cause).toBe('upstream_down');
    const { roots, verdicts } = threadOf(id);
    expect(roots).toHaveLength(1);
    expect(verdicts).toHaveLength(1);
    // Five failed attempts, then the root, then the verdict: every fault was retried.
    expect(slack.callsOf('chat.postMessage').length - before).toBe(7);
    const inc = await store.get(id);
    expect(inc?.rootTs).toBe(roots[0]!.ts);
    expect(inc?.verdictTs).toBe(`1:${verdicts[0]!.ts}`);
  });

  it('an ok:false error that retrying cannot cure fails with a coded, non-retryable error', async () => {
    const id = await openIncident();
    slack.failNext('chat.postMessage', { error: 'channel_not_found' });
    await expect(diagnoseIncident({ incidentId: id, run: 1 }, deps())).rejects.toMatchObject({
      code: 'SLACK_API',
      retryable: false,
    });
  });

  it('a worker crash: the same run again after the first posted adds no second root or verdict', async () => {
    const id = await openIncident();
    const first = await diagnoseIncident({ incidentId: id, run: 1 }, deps());
    const calls = slack.callsOf('chat.postMessage').length;
    const again = await diagnoseIncident({ incidentId: id, run: 1 }, deps());
    expect(again).toEqual(first);
    expect(slack.callsOf('chat.postMessage').length).toBe(calls);
    expect(threadOf(id).roots).toHaveLength(1);
    expect(threadOf(id).verdicts).toHaveLength(1);
  });

  it('a crash between root and verdict: the retry reuses the stored root and posts the verdict once', async () => {
    const id = await openIncident();
    // A first attempt posted the root and died before its verdict.
    const d = deps();
    const inc = (await store.get(id))!;
    await d.slack!.ensureRoot(inc, '#shop');
    await diagnoseIncident({ incidentId: id, run: 1 }, deps());
    await diagnoseIncident({ incidentId: id, run: 1 }, deps());
    expect(threadOf(id).roots).toHaveLength(1);
    expect(threadOf(id).verdicts).toHaveLength(1);
  });

  it('two workers on the same run at once still post one root', async () => {
    const id = await openIncident();
    // Both read the incident before either posts; the second still finds the first's root in Redis.
    const a = deps();
    const b = deps();
    const [ia, ib] = [(await store.get(id))!, (await store.get(id))!];
    await a.slack!.ensureRoot(ia, '#shop');
    await b.slack!.ensureRoot(ib, '#shop');
    expect(threadOf(id).roots).toHaveLength(1);
  });

  it('live edits as checks finish are coalesced (~1 per interval), with a final edit showing the verdict', async () => {
    const id = await openIncident();
    const slow = (name: 'proxy' | 'load' | 'database' | 'changes', ms: number): Check =>
      ({
        name,
        run: async () => {
          await sleep(ms);
          return { status: 'ok', summary: `${name} fine`, evidence: [] };
        },
      }) as Check;
    const registry = {
      ...CHECKS,
      proxy: slow('proxy', 50),
      load: slow('load', 100),
      database: slow('database', 150),
      changes: slow('changes', 1500),
    } as typeof CHECKS;
    const pb = playbook({
      service: 'shop',
      checks: {
        upstream: { targets: [upstream.url], timeout_ms: 300, probes: 1 },
        proxy: { url: 'http://127.0.0.1:1/' },
        load: { scrape: ['http://127.0.0.1:1/metrics'] },
        database: { kind: 'redis', url_env: 'NONE' },
        changes: { window_minutes: 5 },
      },
    });
    const updatesBefore = slack.callsOf('chat.update').length;
    await diagnoseIncident(
      { incidentId: id, run: 1 },
      deps({ playbooks: new Map([['shop', pb]]), checkRegistry: registry, rootEditIntervalMs: 1000 }),
    );
    const updates = slack.callsOf('chat.update').slice(updatesBefore);
    // Five checks finish; uncoalesced that is five edits plus the final one.
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.length).toBeLessThanOrEqual(3);
    const texts = updates.map((u) => JSON.stringify(u.args.blocks));
    expect(texts[0]).toMatch(/Checks [1-4]\/5/);
    expect(texts.at(-1)).not.toContain('Checks');
    expect(String(updates.at(-1)!.args.text)).toContain('FIX: upstream_down');
    // The edits sent to Slack land on the one root message.
    expect(threadOf(id).roots).toHaveLength(1);
    expect(threadOf(id).roots[0]!.edits).toBe(updates.length);
  });

  it('the verdict becomes one PagerDuty note per run, retried through a 429 and never doubled', async () => {
    const id = await openIncident('pagerduty', 'PDNOTE1');
    pd.addIncident('PDNOTE1');
    pd.failNext({ status: 429, retryAfter: 1 }, { status: 502 });
    const pagerduty = new PagerDutyClient({
      token: 'pd-token',
      baseUrl: pd.url,
      log: silentLogger(),
      baseDelayMs: 20,
    });
    await diagnoseIncident({ incidentId: id, run: 1 }, deps({ pagerduty }));
    await diagnoseIncident({ incidentId: id, run: 1 }, deps({ pagerduty }));
    const notes = pd.incidents.get('PDNOTE1')!.notes;
    expect(notes).toHaveLength(1);
    expect(notes[0]!.content).toContain('FIX — shop');
    expect(pd.calls.filter((c) => c.path === '/incidents/PDNOTE1/notes')).toHaveLength(3);
  });

  it('no note for incidents that did not come from PagerDuty', async () => {
    const id = await openIncident('alertmanager', 'am-1');
    pd.addIncident('am-1');
    const pagerduty = new PagerDutyClient({ token: 'pd-token', baseUrl: pd.url, log: silentLogger() });
    await diagnoseIncident({ incidentId: id, run: 1 }, deps({ pagerduty }));
    expect(pd.incidents.get('am-1')!.notes).toHaveLength(0);
  });

  describe('outbox: a post Slack took but whose ts never reached Redis is adopted, not posted again', () => {
    /** A channel id: conversations.* take ids only, so the root can be looked up from the first incident on. */
    const CHANNEL = 'C0SHOP0001';
    const inChannel = (channel: string) =>
      new Map([
        [
          'shop',
          playbook({
            service: 'shop',
            slack: { channel },
            checks: { upstream: { targets: [upstream.url], timeout_ms: 300, probes: 1 } },
          }),
        ],
      ]);
    const lookups = () => slack.calls.filter((c) => c.method.startsWith('conversations.')).length;
    /** Enough 503s to outlast the lookup client's own retries (4), so the lookup fails as in a Slack outage. */
    const outage = (method: string) =>
      slack.failNext(method, ...Array.from({ length: 5 }, () => ({ status: 503 as const })));

    it('the normal path makes no conversations.* call, and both messages carry metadata naming incident and run', async () => {
      const id = await openIncident();
      const before = lookups();
      await diagnoseIncident({ incidentId: id, run: 1 }, deps());
      expect(lookups()).toBe(before);
      const { roots, verdicts } = threadOf(id);
      expect(roots).toHaveLength(1);
      expect(roots[0]!.metadata).toEqual({
        event_type: 'gatewatch_incident',
        event_payload: { incident: id, service: 'shop', source: 'pagerduty' },
      });
      expect(verdicts).toHaveLength(1);
      expect(verdicts[0]!.metadata!.event_type).toBe('gatewatch_verdict');
      // The contract's metadata fields, plus the run; evidence stays in the message.
      expect(verdicts[0]!.metadata!.event_payload).toMatchObject({
        service: 'shop',
        incident: id,
        recommendation: 'fix',
        cause: 'upstream_down',
        run: 1,
      });
      for (const key of ['confidence', 'summary', 'duration_ms'])
        expect(verdicts[0]!.metadata!.event_payload).toHaveProperty(key);
      for (const key of ['actions', 'checks'])
        expect(verdicts[0]!.metadata!.event_payload).not.toHaveProperty(key);
    });

    it('root accepted then the answer lost: the same attempt finds it in the history and adopts it', async () => {
      const id = await openIncident();
      slack.failNext('chat.postMessage', { acceptThenDrop: true });
      const history = slack.callsOf('conversations.history').length;
      await diagnoseIncident({ incidentId: id, run: 1 }, deps({ playbooks: inChannel(CHANNEL) }));
      const { roots, verdicts } = threadOf(id);
      expect(roots).toHaveLength(1);
      expect(verdicts).toHaveLength(1);
      expect(slack.callsOf('conversations.history').length - history).toBe(1);
      expect((await store.get(id))?.rootTs).toBe(roots[0]!.ts);
      expect(verdicts[0]!.thread_ts).toBe(roots[0]!.ts);
    });

    it('root accepted, answer lost, attempt died: the retried diagnosis adopts the stored root', async () => {
      const id = await openIncident();
      slack.failNext('chat.postMessage', { acceptThenDrop: true });
      outage('conversations.history');
      // The first attempt cannot tell whether Slack took the root, so it gives up rather than post again.
      await expect(
        diagnoseIncident({ incidentId: id, run: 1 }, deps({ playbooks: inChannel(CHANNEL) })),
      ).rejects.toMatchObject({ code: 'SLACK_API', retryable: true });
      expect(threadOf(id).roots).toHaveLength(1);
      expect((await store.get(id))?.rootTs).toBeNull();

      const posts = slack.callsOf('chat.postMessage').length;
      await diagnoseIncident({ incidentId: id, run: 1 }, deps({ playbooks: inChannel(CHANNEL) }));
      const { roots, verdicts } = threadOf(id);
      expect(roots).toHaveLength(1);
      expect(verdicts).toHaveLength(1);
      // Only the verdict was posted by the retry.
      expect(slack.callsOf('chat.postMessage').length - posts).toBe(1);
      expect((await store.get(id))?.rootTs).toBe(roots[0]!.ts);
    });

    it('verdict accepted then the answer lost: the same attempt finds it in the thread and adopts it', async () => {
      const id = await openIncident();
      const d = deps({ playbooks: inChannel(CHANNEL) });
      await d.slack!.ensureRoot((await store.get(id))!, CHANNEL);
      slack.failNext('chat.postMessage', { acceptThenDrop: true });
      const replies = slack.callsOf('conversations.replies').length;
      await diagnoseIncident({ incidentId: id, run: 1 }, d);
      const { roots, verdicts } = threadOf(id);
      expect(roots).toHaveLength(1);
      expect(verdicts).toHaveLength(1);
      expect(slack.callsOf('conversations.replies').length - replies).toBe(1);
      expect((await store.get(id))?.verdictTs).toBe(`1:${verdicts[0]!.ts}`);
    });

    it('verdict accepted, answer lost, attempt died: the retried diagnosis adopts it; a re-run still posts its own', async () => {
      const id = await openIncident();
      const d = deps({ playbooks: inChannel(CHANNEL) });
      await d.slack!.ensureRoot((await store.get(id))!, CHANNEL);
      slack.failNext('chat.postMessage', { acceptThenDrop: true });
      outage('conversations.replies');
      await expect(diagnoseIncident({ incidentId: id, run: 1 }, d)).rejects.toMatchObject({
        code: 'SLACK_API',
        retryable: true,
      });
      expect(threadOf(id).verdicts).toHaveLength(1);
      expect((await store.get(id))?.verdictTs).toBeNull();

      const posts = slack.callsOf('chat.postMessage').length;
      await diagnoseIncident({ incidentId: id, run: 1 }, deps({ playbooks: inChannel(CHANNEL) }));
      expect(slack.callsOf('chat.postMessage').length).toBe(posts);
      const { roots, verdicts } = threadOf(id);
      expect(roots).toHaveLength(1);
      expect(verdicts).toHaveLength(1);
      expect((await store.get(id))?.verdictTs).toBe(`1:${verdicts[0]!.ts}`);

      // Run 2's verdict is not mistaken for run 1's: it is looked for by run, found missing, posted.
      expect(await store.nextRun(id)).toBe(2);
      slack.failNext('chat.postMessage', { acceptThenDrop: true });
      await diagnoseIncident({ incidentId: id, run: 2 }, deps({ playbooks: inChannel(CHANNEL) }));
      const after = threadOf(id).verdicts;
      expect(after).toHaveLength(2);
      expect(after.map((m) => m.metadata!.event_payload.run)).toEqual([1, 2]);
      expect((await store.get(id))?.verdictTs).toBe(`2:${after[1]!.ts}`);
    });

    it('a #name channel: once a post taught its id, a lost root answer is found and adopted', async () => {
      const first = await openIncident('pagerduty', `PDNAME${prefixN}a`);
      await diagnoseIncident({ incidentId: first, run: 1 }, deps());
      // Resolved, so the next alert opens a new incident rather than joining this one.
      expect(await store.end(first, 'manual', { note: 'test' })).toBe('resolved');
      const id = await openIncident('pagerduty', `PDNAME${prefixN}b`);
      expect(id).not.toBe(first);
      const history = slack.callsOf('conversations.history').length;
      slack.failNext('chat.postMessage', { acceptThenDrop: true });
      await diagnoseIncident({ incidentId: id, run: 1 }, deps());
      const { roots, verdicts } = threadOf(id);
      expect(roots).toHaveLength(1);
      expect(verdicts).toHaveLength(1);
      expect(roots[0]!.channel).toBe(threadOf(first).roots[0]!.channel);
      expect(slack.callsOf('conversations.history').length - history).toBe(1);
    });

    it('a lookup Slack refuses for good (missing_scope): it posts anyway, accepting the rare duplicate', async () => {
      const id = await openIncident();
      slack.failNext('chat.postMessage', { acceptThenDrop: true });
      slack.failNext('conversations.history', { error: 'missing_scope' });
      await diagnoseIncident({ incidentId: id, run: 1 }, deps({ playbooks: inChannel(CHANNEL) }));
      const { roots } = threadOf(id);
      expect(roots).toHaveLength(2);
      const stored = (await store.get(id))!;
      expect(stored.rootTs).toBe(roots[1]!.ts);
      expect(slack.replies(stored.rootTs!).filter((m) => m.metadata)).toHaveLength(1);
    });

    it('the fake answers conversations.* as Slack does: ids only, newest first, root first, metadata on request', async () => {
      // A fresh stand-in: faults queued by other tests cannot leak into this one.
      const own = await new FakeSlack().start();
      onTestFinished(() => own.stop());
      const web = createSlackClient({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: own.url });
      const channel = 'C0FAKECONV1';
      const meta = { event_type: 'probe', event_payload: { n: 1 } };
      const a = await web.chat.postMessage({ channel, text: 'a', metadata: meta });
      const b = await web.chat.postMessage({ channel, text: 'b' });
      const reply = await web.chat.postMessage({ channel, text: 'r', thread_ts: a.ts!, metadata: meta });

      const plain = await web.conversations.history({ channel });
      expect(plain.messages!.map((m) => m.text)).toEqual(['b', 'a']);
      expect(plain.messages![1]!).not.toHaveProperty('metadata');
      const withMeta = await web.conversations.history({ channel, include_all_metadata: true, limit: 1 });
      expect(withMeta.messages!.map((m) => m.ts)).toEqual([b.ts]);
      expect(withMeta.has_more).toBe(true);
      const next = await web.conversations.history({
        channel,
        include_all_metadata: true,
        cursor: withMeta.response_metadata!.next_cursor!,
      });
      expect(next.messages!.map((m) => m.ts)).toEqual([a.ts]);
      expect((next.messages![0] as { metadata?: unknown }).metadata).toEqual(meta);
      const after = await web.conversations.history({ channel, oldest: a.ts! });
      expect(after.messages!.map((m) => m.ts)).toEqual([b.ts]);

      const thread = await web.conversations.replies({ channel, ts: a.ts!, include_all_metadata: true });
      expect(thread.messages!.map((m) => m.ts)).toEqual([a.ts, reply.ts]);
      expect((thread.messages![1] as { metadata?: unknown }).metadata).toEqual(meta);

      await expect(web.conversations.history({ channel: '#shop' })).rejects.toMatchObject({
        data: { error: 'channel_not_found' },
      });
    });
  });
});
