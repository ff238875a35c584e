import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/checks/registry.js';
import type { Check } from '../../src/checks/types.js';
import { IncidentStore } from '../../src/ingest/store.js';
import { silentLogger } from '../../src/log.js';
import { PagerDutyClient } from '../../src/pagerduty/client.js';
import { diagnoseIncident } from '../../src/queue/diagnose.js';
import { createSlackClient } from '../../src/slack/client.js';
import { SlackThread } from '../../src/slack/thread.js';
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

  beforeEach(() => {
    store = new IncidentStore(client, `{delivery-${++prefixN}}`);
  });

  const shop = () =>
    playbook({
      service: 'shop',
      slack: { channel: '#shop' },
      checks: { upstream: { targets: [upstream.url], timeout_ms: 300, probes: 1 } },
    });

  function deps(extra: Partial<Parameters<typeof diagnoseIncident>[1]> = {}) {
    const web = createSlackClient(
      { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: slack.url },
      { retryConfig: { retries: 4, factor: 1, minTimeout: 50, maxTimeout: 100 } },
    );
    return {
      store,
      playbooks: new Map([['shop', shop()]]),
      slack: new SlackThread({ client: web, store, defaultChannel: '#incidents', log: silentLogger() }),
      log: silentLogger(),
      env: {},
      ...extra,
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
});
