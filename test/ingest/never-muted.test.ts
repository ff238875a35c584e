import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { Playbook } from '../../src/playbooks/schema.js';
import { JobQueue } from '../../src/queue/jobs.js';
import { runGatewayCommand } from '../../src/slack/commands.js';
import { IncidentStore } from '../../src/store/store.js';
import { FakePagerDuty } from '../helpers/fake-pagerduty.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { playbook, startGatewatch, type TestGatewatch } from '../helpers/gatewatch.js';
import { waitFor } from '../helpers/ports.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { refusingUpstream, type Upstream } from '../helpers/upstreams.js';
import { pagerdutyEvent, pagerdutyHeaders, post } from './send.js';

const PD_TOKEN = 'pd-never-muted';

/**
 * Issue 16: every distinct upstream incident gets a verdict that names it, in
 * Slack and as a note on its own PagerDuty incident, whatever else is open.
 */
describe('a service is never muted', () => {
  let redis: PrivateRedis;
  let slack: FakeSlack;
  let pd: FakePagerDuty;
  let upstream: Upstream;
  let playbooks: Playbook[];
  const running: TestGatewatch[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    slack = await new FakeSlack().start();
    pd = await new FakePagerDuty(PD_TOKEN).start();
    upstream = await refusingUpstream();
    const checks = { upstream: { targets: [upstream.url], probes: 1, timeout_ms: 1000 } };
    playbooks = ['checkout', 'pair', 'lost', 'storm'].map((service) =>
      playbook({
        service,
        match: { pagerduty_services: [`P${service.toUpperCase()}`] },
        slack: { channel: `#${service}` },
        checks,
      }),
    );
  });

  afterAll(async () => {
    for (const gw of running) await gw.close();
    await slack?.stop();
    await pd?.stop();
    await upstream?.close();
    await redis?.destroy();
  });

  async function gatewatch(env: Record<string, string> = {}) {
    const gw = await startGatewatch({
      redisUrl: redis.url,
      slackUrl: slack.url,
      playbooks,
      env: { PAGERDUTY_API_TOKEN: PD_TOKEN, PAGERDUTY_API_URL: pd.url, ...env },
    });
    running.push(gw);
    return { gw, store: new IncidentStore(redis.client(), gw.prefix) };
  }

  function trigger(gw: TestGatewatch, service: string, incidentId: string) {
    pd.addIncident(incidentId);
    const body = pagerdutyEvent({
      eventType: 'incident.triggered',
      incidentId,
      serviceId: `P${service.toUpperCase()}`,
    });
    return post(gw.baseUrl, '/webhooks/pagerduty', body, pagerdutyHeaders(body));
  }

  const rootOf = (text: string) => slack.roots().find((m) => m.text.includes(text));
  const repliesOf = (text: string, eventType: string) => {
    const root = rootOf(text);
    return root ? slack.replies(root.ts).filter((m) => m.metadata?.event_type === eventType) : [];
  };
  const notesOn = (incidentId: string) => pd.incidents.get(incidentId)?.notes ?? [];

  it('check then alert: /gateway check posts its verdict and ends; the PagerDuty incident after it gets its own diagnosis and note', async () => {
    const { gw, store } = await gatewatch();
    const jobs = new JobQueue(redis.client(), gw.prefix, gw.queueName);
    const deps = {
      store,
      jobs,
      playbooks: new Map(playbooks.map((p) => [p.service, p])),
      log: silentLogger(),
    };
    try {
      const reply = await runGatewayCommand(
        { text: 'check checkout', channel_id: 'C0CHECKRUN', user_id: 'U0ONCALL' },
        deps,
      );
      expect(reply.text).toContain('Checking *checkout*');
      const checkRoot = await slack.waitFor(() =>
        slack
          .roots()
          .find((m) => m.channel === 'C0CHECKRUN' && /check run: ended at its verdict/.test(m.text)),
      );
      expect(
        slack.replies(checkRoot.ts).filter((m) => m.metadata?.event_type === 'gatewatch_verdict'),
      ).toHaveLength(1);

      const alert = await trigger(gw, 'checkout', 'PCHECKA1');
      expect(alert.json).toEqual({ incident: 'PCHECKA1', status: 'queued' });
      const verdicts = await slack.waitFor(() => {
        const v = repliesOf('pagerduty PCHECKA1', 'gatewatch_verdict');
        return v.length === 1 && v;
      });
      expect(verdicts[0]!.metadata!.event_payload.incident).toBe('PCHECKA1');
      await waitFor(async () => notesOn('PCHECKA1').length === 1);
      expect(notesOn('PCHECKA1')[0]!.content).toContain('FIX — checkout');
    } finally {
      await jobs.close();
    }
  });

  it('two PagerDuty incidents in a row: the second, while the first is open, is named in the thread with the fresh verdict and noted on its own incident', async () => {
    const { gw, store } = await gatewatch();
    expect((await trigger(gw, 'pair', 'PPAIRA01')).json).toEqual({ incident: 'PPAIRA01', status: 'queued' });
    await slack.waitFor(() => repliesOf('pagerduty PPAIRA01', 'gatewatch_verdict').length === 1);
    await waitFor(async () => notesOn('PPAIRA01').length === 1);

    const second = await trigger(gw, 'pair', 'PPAIRB02');
    expect(second.json).toEqual({ incident: 'PPAIRA01', status: 'updated' });
    const joined = await slack.waitFor(() => repliesOf('pagerduty PPAIRA01', 'gatewatch_joined')[0]);
    expect(joined.text).toContain('PagerDuty incident PPAIRB02');
    expect(joined.text).toContain('FIX — pair');
    await waitFor(async () => notesOn('PPAIRB02').length === 1);
    expect(notesOn('PPAIRB02')[0]!.content).toContain('FIX — pair');
    // One diagnosis covered both: the first incident's note is not repeated, no second run.
    expect(notesOn('PPAIRA01')).toHaveLength(1);
    expect(repliesOf('pagerduty PPAIRA01', 'gatewatch_verdict')).toHaveLength(1);
    expect((await store.get('PPAIRA01'))?.run).toBe(1);
    expect(slack.roots().filter((m) => m.text.includes('pagerduty PPAIR'))).toHaveLength(1);
  });

  it('a lost resolve, then a new alert after the verdict went stale: a fresh diagnosis whose verdict names both, noted on the new incident', async () => {
    // Every verdict is stale at once: stands for a resolve that never came, hours ago.
    const { gw, store } = await gatewatch({ VERDICT_FRESH_MS: '0' });
    expect((await trigger(gw, 'lost', 'PLOSTA01')).json).toEqual({ incident: 'PLOSTA01', status: 'queued' });
    await slack.waitFor(() => repliesOf('pagerduty PLOSTA01', 'gatewatch_verdict').length === 1);

    expect((await trigger(gw, 'lost', 'PLOSTB02')).json).toEqual({ incident: 'PLOSTA01', status: 'queued' });
    const verdicts = await slack.waitFor(() => {
      const v = repliesOf('pagerduty PLOSTA01', 'gatewatch_verdict');
      return v.length === 2 && v;
    });
    expect(verdicts.map((v) => v.metadata!.event_payload.run)).toEqual([1, 2]);
    expect(verdicts[1]!.text).toMatch(/This verdict covers 2 incidents: .*PLOSTA01.*PLOSTB02/s);
    await waitFor(async () => notesOn('PLOSTB02').length === 1);
    expect(notesOn('PLOSTB02')[0]!.content).toContain('gatewatch verdict (run 2)');
    expect((await store.get('PLOSTA01'))?.run).toBe(2);
  });

  it('twenty PagerDuty incidents of one service within seconds: one diagnosis, every one named in the thread and noted on its own incident', async () => {
    const { gw, store } = await gatewatch();
    const ids = Array.from({ length: 20 }, (_, i) => `PSTORM${String(i).padStart(2, '0')}`);
    const answers = await Promise.all(ids.map((id) => trigger(gw, 'storm', id)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    const opened = answers.find((a) => a.json.status === 'queued')!.json.incident as string;
    expect(answers.filter((a) => a.json.status === 'queued')).toHaveLength(1);
    expect(new Set(answers.map((a) => a.json.incident))).toEqual(new Set([opened]));

    for (const id of ids) await waitFor(async () => notesOn(id).length === 1, 20_000, `a note on ${id}`);
    const root = rootOf(`pagerduty ${opened}`)!;
    const thread = slack
      .replies(root.ts)
      .map((m) => m.text)
      .join('\n');
    for (const id of ids) expect(thread).toContain(id);
    expect(repliesOf(`pagerduty ${opened}`, 'gatewatch_verdict')).toHaveLength(1);
    expect((await store.get(opened))?.run).toBe(1);
    expect(slack.roots().filter((m) => m.text.includes('pagerduty PSTORM'))).toHaveLength(1);
  });
});
