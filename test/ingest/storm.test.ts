import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Playbook } from '../../src/playbooks/schema.js';
import { IncidentStore } from '../../src/store/store.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { playbook, startGatewatch, type TestGatewatch } from '../helpers/gatewatch.js';
import { waitFor } from '../helpers/ports.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { healthyUpstream, type Upstream } from '../helpers/upstreams.js';
import { pagerdutyEvent, pagerdutyHeaders, post } from './send.js';

const STORM = 300;

describe('alert storms, retries and restarts', () => {
  let redis: PrivateRedis;
  let slack: FakeSlack;
  let upstream: Upstream;
  let gw: TestGatewatch;
  let store: IncidentStore;
  let queue: Queue;
  let pb: Playbook;
  /** Another service: while PSTORM01 is open, every alert of storm-shop joins it. */
  const retryShop = playbook({ service: 'retry-shop', match: { pagerduty_services: ['PRETRY1'] } });

  beforeAll(async () => {
    redis = await startRedis();
    slack = await new FakeSlack().start();
    upstream = await healthyUpstream();
    pb = playbook({
      service: 'storm-shop',
      match: { pagerduty_services: ['PSTORM1'] },
      checks: { upstream: { targets: [upstream.url], probes: 1, timeout_ms: 1000 } },
    });
    gw = await startGatewatch({ redisUrl: redis.url, slackUrl: slack.url, playbooks: [pb, retryShop] });
    store = new IncidentStore(redis.client(), gw.prefix);
    queue = new Queue(gw.queueName, { connection: redis.client(), prefix: gw.prefix });
  });

  afterAll(async () => {
    await queue?.close();
    await gw?.close();
    await slack?.stop();
    await upstream?.close();
    await redis?.destroy();
  });

  function alert(incidentId: string, serviceId = 'PSTORM1') {
    return pagerdutyEvent({ eventType: 'incident.triggered', incidentId, serviceId });
  }

  async function fire(n: number, incidentId: string) {
    return Promise.all(
      Array.from({ length: n }, () => {
        const body = alert(incidentId);
        return post(gw.baseUrl, '/webhooks/pagerduty', body, pagerdutyHeaders(body));
      }),
    );
  }

  async function diagnoseJobs(): Promise<string[]> {
    const jobs = await queue.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed', 'prioritized']);
    return jobs.filter((j) => j.name === 'diagnose').map((j) => String(j.id));
  }

  const roots = () => slack.callsOf('chat.postMessage').filter((c) => !c.args.thread_ts);
  const verdicts = () => slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts);

  it(`${STORM} concurrent alerts of one incident: one incident, one diagnosis, one root message`, async () => {
    const answers = await fire(STORM, 'PSTORM01');
    expect(answers.map((a) => a.status)).toEqual(Array(STORM).fill(202));
    expect(new Set(answers.map((a) => a.json.incident))).toEqual(new Set(['PSTORM01']));
    expect(answers.filter((a) => a.json.status === 'queued')).toHaveLength(1);

    await slack.waitFor(() => verdicts().length >= 1);
    expect(await diagnoseJobs()).toEqual(['diagnose:PSTORM01:1']);
    expect(roots()).toHaveLength(1);
    expect(verdicts()).toHaveLength(1);
    expect((await store.get('PSTORM01'))?.alertCount).toBe(STORM);
    // The root catches up with the count once the storm is over.
    await slack.waitFor(() => slack.roots()[0]?.text.includes(`· ${STORM} alerts`));
  });

  it('a storm that lasts: the root shows the count, edited at most about once every 2 s', async () => {
    const before = slack.callsOf('chat.update').length;
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 6000) {
      const batch = await fire(20, 'PSTORM01');
      expect(batch.every((a) => a.status === 202 && a.json.status === 'duplicate')).toBe(true);
      sent += batch.length;
      await new Promise((r) => setTimeout(r, 200));
    }
    const total = STORM + sent;
    await slack.waitFor(() => slack.roots()[0]?.text.includes(`· ${total} alerts`), 10_000);

    const edits = slack.callsOf('chat.update').slice(before);
    const gaps = edits.slice(1).map((e, i) => e.at - edits[i]!.at);
    // 6 s of alerts and a last catch-up: three or four edits, not hundreds.
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(edits.length).toBeLessThanOrEqual(5);
    // Throttled in the queue: the window is 2 s; a little slack for timers on a busy machine.
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(1800);
    expect(roots()).toHaveLength(1);
    expect(await diagnoseJobs()).toEqual(['diagnose:PSTORM01:1']);
  });

  it('a PagerDuty retry (same X-Webhook-Id), even racing the original, is answered alike and counted once', async () => {
    const body = alert('PRETRY01', 'PRETRY1');
    const headers = pagerdutyHeaders(body, 'retry-delivery-1');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post(gw.baseUrl, '/webhooks/pagerduty', body, headers)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    expect(answers.map((a) => a.json.incident)).toEqual(Array(20).fill('PRETRY01'));
    expect(answers.filter((a) => a.json.status === 'queued')).toHaveLength(1);
    expect(answers.filter((a) => a.json.status === 'duplicate')).toHaveLength(19);
    const later = await post(gw.baseUrl, '/webhooks/pagerduty', body, headers);
    expect(later.json).toEqual({ incident: 'PRETRY01', status: 'duplicate' });
    expect((await store.get('PRETRY01'))?.alertCount).toBe(1);
  });

  it('dedup survives a restart of gatewatch: same incident, no second diagnosis or root message', async () => {
    const retried = alert('PSTORM01');
    const headers = pagerdutyHeaders(retried, 'before-restart');
    expect((await post(gw.baseUrl, '/webhooks/pagerduty', retried, headers)).json.status).toBe('duplicate');
    const count = (await store.get('PSTORM01'))!.alertCount;
    const rootsBefore = roots().length;

    await gw.close();
    gw = await startGatewatch({
      redisUrl: redis.url,
      slackUrl: slack.url,
      playbooks: [pb, retryShop],
      prefix: gw.prefix,
      queueName: gw.queueName,
    });

    // The very same delivery: answered from Redis, not counted again.
    expect((await post(gw.baseUrl, '/webhooks/pagerduty', retried, headers)).json).toEqual({
      incident: 'PSTORM01',
      status: 'duplicate',
    });
    expect((await store.get('PSTORM01'))?.alertCount).toBe(count);
    // A new alert of the same incident joins it.
    const fresh = await fire(1, 'PSTORM01');
    expect(fresh[0]!.json).toEqual({ incident: 'PSTORM01', status: 'duplicate' });
    await slack.waitFor(() => slack.roots()[0]?.text.includes(`· ${count + 1} alerts`), 10_000);
    expect(roots()).toHaveLength(rootsBefore);
    expect(await waitFor(async () => (await diagnoseJobs()).filter((j) => j.includes('PSTORM01')))).toEqual([
      'diagnose:PSTORM01:1',
    ]);
  });
});
