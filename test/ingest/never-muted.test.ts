import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatewayCommand } from '../../src/slack/commands.js';
import { playbook } from '../helpers/gatewatch.js';
import { waitFor } from '../helpers/ports.js';
import { refusingUpstream, type Upstream } from '../helpers/upstreams.js';
import { lifecycleWorld } from './lifecycle-world.js';

/**
 * Issue 16: every distinct upstream incident gets a verdict that names it, in
 * Slack and as a note on its own PagerDuty incident, whatever else is open.
 */
describe('a service is never muted', () => {
  let world: Awaited<ReturnType<typeof lifecycleWorld>>;
  let upstream: Upstream;

  beforeAll(async () => {
    upstream = await refusingUpstream();
    const checks = { upstream: { targets: [upstream.url], probes: 1, timeout_ms: 1000 } };
    world = await lifecycleWorld(() =>
      ['checkout', 'pair', 'lost', 'storm'].map((service) =>
        playbook({
          service,
          match: { pagerduty_services: [`P${service.toUpperCase()}`] },
          slack: { channel: `#${service}` },
          checks,
        }),
      ),
    );
  });

  afterAll(async () => {
    await world?.close();
    await upstream?.close();
  });

  const gatewatch = (env?: Record<string, string>) => world.gatewatch(env);
  const trigger = (...args: Parameters<typeof world.pagerduty>) => world.pagerduty(...args);
  const rootOf = (text: string) => world.slack.roots().find((m) => m.text.includes(text));
  const repliesOf = (id: string, eventType: string) => world.repliesOf(id, eventType);
  const notesOn = (id: string) => world.notesOn(id);

  it('check then alert: /gateway check posts its verdict and ends; the PagerDuty incident after it gets its own diagnosis and note', async () => {
    const { gw, slackDeps: deps } = await gatewatch();
    const reply = await runGatewayCommand(
      { text: 'check checkout', channel_id: 'C0CHECKRUN', user_id: 'U0ONCALL' },
      deps,
    );
    expect(reply.text).toContain('Checking *checkout*');
    const checkRoot = await world.slack.waitFor(() =>
      world.slack
        .roots()
        .find((m) => m.channel === 'C0CHECKRUN' && /check run: ended at its verdict/.test(m.text)),
    );
    expect(
      world.slack.replies(checkRoot.ts).filter((m) => m.metadata?.event_type === 'gatewatch_verdict'),
    ).toHaveLength(1);

    const alert = await trigger(gw, 'checkout', 'PCHECKA1');
    expect(alert.json).toEqual({ incident: 'PCHECKA1', status: 'queued' });
    const verdicts = await world.slack.waitFor(() => {
      const v = repliesOf('PCHECKA1', 'gatewatch_verdict');
      return v.length === 1 && v;
    });
    expect(verdicts[0]!.metadata!.event_payload.incident).toBe('PCHECKA1');
    await waitFor(async () => notesOn('PCHECKA1').length === 1);
    expect(notesOn('PCHECKA1')[0]!.content).toContain('FIX — checkout');
  });

  it('two PagerDuty incidents in a row: the second, while the first is open, is named in the thread with the fresh verdict and noted on its own incident', async () => {
    const { gw, store } = await gatewatch();
    expect((await trigger(gw, 'pair', 'PPAIRA01')).json).toEqual({ incident: 'PPAIRA01', status: 'queued' });
    await world.slack.waitFor(() => repliesOf('PPAIRA01', 'gatewatch_verdict').length === 1);
    await waitFor(async () => notesOn('PPAIRA01').length === 1);

    const second = await trigger(gw, 'pair', 'PPAIRB02');
    expect(second.json).toEqual({ incident: 'PPAIRA01', status: 'updated' });
    const joined = await world.slack.waitFor(() => repliesOf('PPAIRA01', 'gatewatch_joined')[0]);
    expect(joined.text).toContain('PagerDuty incident PPAIRB02');
    expect(joined.text).toContain('FIX — pair');
    await waitFor(async () => notesOn('PPAIRB02').length === 1);
    expect(notesOn('PPAIRB02')[0]!.content).toContain('FIX — pair');
    // One diagnosis covered both: the first incident's note is not repeated, no second run.
    expect(notesOn('PPAIRA01')).toHaveLength(1);
    expect(repliesOf('PPAIRA01', 'gatewatch_verdict')).toHaveLength(1);
    expect((await store.get('PPAIRA01'))?.run).toBe(1);
    expect(world.slack.roots().filter((m) => m.text.includes('pagerduty PPAIR'))).toHaveLength(1);
  });

  it('a lost resolve, then a new alert after the verdict went stale: a fresh diagnosis whose verdict names both, noted on the new incident', async () => {
    // Every verdict is stale at once: stands for a resolve that never came, hours ago.
    const { gw, store } = await gatewatch({ VERDICT_FRESH_MS: '0' });
    expect((await trigger(gw, 'lost', 'PLOSTA01')).json).toEqual({ incident: 'PLOSTA01', status: 'queued' });
    await world.slack.waitFor(() => repliesOf('PLOSTA01', 'gatewatch_verdict').length === 1);

    expect((await trigger(gw, 'lost', 'PLOSTB02')).json).toEqual({ incident: 'PLOSTA01', status: 'queued' });
    const verdicts = await world.slack.waitFor(() => {
      const v = repliesOf('PLOSTA01', 'gatewatch_verdict');
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
    const thread = world.slack
      .replies(root.ts)
      .map((m) => m.text)
      .join('\n');
    for (const id of ids) expect(thread).toContain(id);
    expect(repliesOf(opened, 'gatewatch_verdict')).toHaveLength(1);
    expect((await store.get(opened))?.run).toBe(1);
    expect(world.slack.roots().filter((m) => m.text.includes('pagerduty PSTORM'))).toHaveLength(1);
  });
});
