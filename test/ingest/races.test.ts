import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createNotifier } from '../../src/notify/notifier.js';
import { diagnoseIncident } from '../../src/queue/diagnose.js';
import { createSlackClient } from '../../src/slack/client.js';
import { PostingIntents } from '../../src/slack/outbox.js';
import { SlackThread } from '../../src/slack/thread.js';
import { IncidentStore } from '../../src/store/store.js';
import type { Verdict } from '../../src/verdict/types.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { playbook } from '../helpers/gatewatch.js';
import { SAMPLE_VERDICT } from '../helpers/lifecycle.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { refusingUpstream, type Upstream } from '../helpers/upstreams.js';

/** Many rounds: a race lost once in a while must still show up. */
const ROUNDS = 25;

const VERDICT = SAMPLE_VERDICT;

describe('every lifecycle transition is atomic in Redis: real races', () => {
  let redis: PrivateRedis;
  let client: Redis;
  let slack: FakeSlack;
  let upstream: Upstream;
  let store: IncidentStore;
  let prefix = '';
  let n = 0;

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    slack = await new FakeSlack().start();
    upstream = await refusingUpstream();
  });

  afterAll(async () => {
    await slack?.stop();
    await upstream?.close();
    await redis?.destroy();
  });

  beforeEach(() => {
    prefix = `{race-${++n}}`;
    store = new IncidentStore(client, prefix);
  });

  const trigger = (key: string, service = 'shop') =>
    store.openOrJoin({
      source: 'pagerduty',
      key,
      service,
      title: `502s ${key}`,
      onsetAt: new Date().toISOString(),
      preferredId: key,
    });

  /** One worker: its own Slack thread over its own connection, as another process would have. */
  function worker() {
    const log = silentLogger();
    const thread = new SlackThread({
      client: createSlackClient({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: slack.url }),
      store,
      intents: new PostingIntents(client, prefix, 3600),
      defaultChannel: '#races',
      log,
    });
    return {
      thread,
      deps: {
        store,
        log,
        env: {},
        playbooks: new Map([
          [
            'shop',
            playbook({ service: 'shop', checks: { upstream: { targets: [upstream.url], probes: 1 } } }),
          ],
        ]),
        notifier: createNotifier({ store, slack: thread, pagerduty: null, log }),
      },
    };
  }

  const rootsOf = (id: string) => slack.roots().filter((m) => m.text.includes(`pagerduty ${id}`));
  const verdictsOf = (id: string) =>
    rootsOf(id).flatMap((r) =>
      slack.replies(r.ts).filter((m) => m.metadata?.event_type === 'gatewatch_verdict'),
    );

  it('twenty triggers of different PagerDuty incidents at once: one incident, the other nineteen joined and named', async () => {
    for (let round = 0; round < 5; round++) {
      const service = `svc-${round}`;
      const keys = Array.from({ length: 20 }, (_, i) => `P${round}K${i}`);
      const results = await Promise.all(keys.map((k) => trigger(k, service)));
      expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
      const id = results.find((r) => r.outcome === 'created')!.id;
      expect(new Set(results.map((r) => r.id))).toEqual(new Set([id]));
      expect(results.filter((r) => r.outcome === 'joined').every((r) => r.newcomer === 'covered')).toBe(true);
      expect((await store.members(id)).shown.map((m) => m.key).sort()).toEqual([...keys].sort());
      expect((await store.get(id))?.alertCount).toBe(20);
    }
  });

  it('a storm of 300 distinct alerts: the verdict covers all 300, naming at most 200 of them', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `fp${String(i).padStart(4, '0')}`);
    const open = (key: string) =>
      store.openOrJoin({
        source: 'alertmanager',
        key,
        service: 'am-storm',
        title: 'HighErrorRate',
        onsetAt: new Date().toISOString(),
      });
    const first = await open(keys[0]!);
    expect(await store.beginDiagnosis(first.id, 1)).toBe('ok');
    await Promise.all(keys.slice(1).map(open));
    const done = await store.finishDiagnosis(first.id, 1, VERDICT);
    expect(done.outcome).toBe('done');
    if (done.outcome !== 'done') return;
    expect(done.members.total).toBe(300);
    expect(done.members.shown).toHaveLength(200);
    expect(new Set(done.members.shown.map((m) => m.key)).size).toBe(200);
  });

  it('diagnose-done and a resolve at the same moment: the resolve stands, whichever lands first', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { id } = await trigger(`PDONE${round}`);
      expect(await store.beginDiagnosis(id, 1)).toBe('ok');
      const finish = () => store.finishDiagnosis(id, 1, VERDICT);
      const resolve = () =>
        store.resolveAlert({ source: 'pagerduty', key: `PDONE${round}`, onsetAt: new Date().toISOString() });
      // Sent in both orders on alternate rounds; Redis decides which lands first.
      const [finished, resolved] =
        round % 2
          ? await Promise.all([finish(), resolve()])
          : await Promise.all([resolve(), finish()]).then(([r, f]) => [f, r] as const);
      expect(resolved.outcome).toBe('resolved');
      expect(finished?.outcome).toBe('done');
      const inc = await store.get(id);
      expect(inc?.state).toBe('resolved');
      expect(inc?.endReason).toBe('source');
      expect(inc?.verdict?.cause).toBe('upstream_down');
      // Resolved means the service is free: the next alert opens a new incident.
      expect((await trigger(`PNEXT${round}`)).outcome).toBe('created');
      await store.end(`PNEXT${round}`, 'manual', { note: 'test' });
    }
  });

  it('acknowledge and resolve at the same moment: never acknowledged after resolved', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { id } = await trigger(`PACK${round}`);
      const [acked] = await Promise.all([
        store.acknowledge(id),
        store.resolveAlert({ source: 'pagerduty', key: `PACK${round}`, onsetAt: new Date().toISOString() }),
      ]);
      const inc = await store.get(id);
      expect(inc?.state).toBe('resolved');
      // Either order is possible; the answer says which one happened.
      expect(['acknowledged', 'resolved']).toContain(acked?.outcome);
    }
  });

  it('the quiet-period end and an alert at the same moment: the alert joins an open incident or opens a new one, never a resolved one', async () => {
    const rules = { quietMs: 0, maxAgeMs: 86_400_000 };
    let joined = 0;
    let reopened = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const service = `quiet-${round}`;
      const { id } = await trigger(`PQ${round}`, service);
      await store.beginDiagnosis(id, 1);
      await store.finishDiagnosis(id, 1, {
        ...VERDICT,
        cause: 'recovered',
        recommendation: 'none',
      } as Verdict);
      const [ended, alert] = await Promise.all([
        store.end(id, 'quiet', { note: 'quiet', rules }),
        trigger(`PQB${round}`, service),
      ]);
      if (alert.outcome === 'joined') {
        joined++;
        expect(alert.id).toBe(id);
        // Joined before the end looked: the end saw an alert this very moment ('open') or in the same ms.
        expect(['resolved', 'open']).toContain(ended);
      } else {
        reopened++;
        expect(ended).toBe('resolved');
        expect(alert.id).not.toBe(id);
        expect((await store.get(alert.id))?.state).toBe('triggered');
      }
      // Whatever the order, the service has exactly one open incident or none, and never a resolved one holds it.
      const open = await store.openIncidentOf(service);
      if (open) expect(open.state).not.toBe('resolved');
    }
    expect(joined + reopened).toBe(ROUNDS);
  });

  it('an incident stored before lifecycle times existed starts its max-age clock at the first sweep, then ends', async () => {
    const { id } = await trigger('PLEGACY1');
    // The shape an incident had before this branch: no opening time of its own.
    await client.hdel(`${prefix}:incident:${id}`, '_openedMs');
    const rules = { quietMs: 3_600_000, maxAgeMs: 0 };
    expect(await store.end(id, 'max-age', { note: 'old', rules })).toBe('open');
    expect(await store.end(id, 'max-age', { note: 'old', rules })).toBe('resolved');
    expect(await store.get(id)).toMatchObject({ state: 'resolved', endReason: 'max-age', endNote: 'old' });
  });

  it('two ensureRoot calls in parallel, from two workers: one root message', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { id } = await trigger(`PROOT${round}`);
      const [a, b] = [worker(), worker()];
      const [ia, ib] = [(await store.get(id))!, (await store.get(id))!];
      const [ra, rb] = await Promise.all([
        a.thread.ensureRoot(ia, '#races'),
        b.thread.ensureRoot(ib, '#races'),
      ]);
      expect(ra).toEqual(rb);
      expect(rootsOf(id)).toHaveLength(1);
      expect((await store.get(id))?.rootTs).toBe(ra.ts);
    }
  });

  it('two workers on the same run and a resolve at the same moment: one root, one verdict, the incident resolved', async () => {
    for (let round = 0; round < 8; round++) {
      const key = `PTWO${round}`;
      const { id } = await trigger(key);
      const [a, b] = [worker(), worker()];
      const [va, vb] = await Promise.all([
        diagnoseIncident({ incidentId: id, run: 1 }, a.deps),
        diagnoseIncident({ incidentId: id, run: 1 }, b.deps),
        store.resolveAlert({ source: 'pagerduty', key, onsetAt: new Date().toISOString() }),
      ]);
      expect([va?.cause, vb?.cause]).toEqual(['upstream_down', 'upstream_down']);
      expect(rootsOf(id)).toHaveLength(1);
      expect(verdictsOf(id)).toHaveLength(1);
      const inc = await store.get(id);
      expect(inc?.state).toBe('resolved');
      expect(inc?.verdictTs).toBe(`1:${verdictsOf(id)[0]!.ts}`);
    }
  });

  it('a run superseded while it ran (a newcomer after a stale verdict) posts nothing; the new run posts once', async () => {
    const { id } = await trigger('PSUP1');
    const w = worker();
    const first = diagnoseIncident({ incidentId: id, run: 1 }, w.deps);
    const second = store.nextRun(id);
    const [v1, run2] = await Promise.all([first, second]);
    expect(run2).toBe(2);
    // Run 1 either finished before run 2 began (its verdict stands) or was superseded (nothing posted).
    const posted = verdictsOf(id).length;
    expect(posted).toBe(v1 ? 1 : 0);
    await diagnoseIncident({ incidentId: id, run: 2 }, w.deps);
    expect(verdictsOf(id)).toHaveLength(posted + 1);
    expect(verdictsOf(id).at(-1)!.metadata!.event_payload.run).toBe(2);
  });
});
