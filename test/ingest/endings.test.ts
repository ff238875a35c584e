import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatewayCommand } from '../../src/slack/commands.js';
import { resolveFromButton } from '../../src/slack/interactions.js';
import { playbook } from '../helpers/gatewatch.js';
import { healthyUpstream, refusingUpstream, type Upstream } from '../helpers/upstreams.js';
import { lifecycleWorld } from './lifecycle-world.js';

/** Issue 16: every incident ends — by its source, quietly after recovering, by age, or by a person — and says why. */
describe('every incident ends, and its root message says why', () => {
  let world: Awaited<ReturnType<typeof lifecycleWorld>>;
  let healthy: Upstream;
  let refusing: Upstream;

  beforeAll(async () => {
    healthy = await healthyUpstream();
    refusing = await refusingUpstream();
    const svc = (service: string, upstream: Upstream) =>
      playbook({
        service,
        match: { pagerduty_services: [`P${service.toUpperCase()}`] },
        checks: { upstream: { targets: [upstream.url], probes: 1, timeout_ms: 1000 } },
      });
    world = await lifecycleWorld(() => [
      svc('calm', healthy),
      svc('broken', refusing),
      svc('aging', refusing),
      svc('manual', refusing),
      svc('button', refusing),
      svc('source', refusing),
    ]);
  });

  afterAll(async () => {
    await world?.close();
    await healthy?.close();
    await refusing?.close();
  });

  const pd = (...args: Parameters<typeof world.pagerduty>) => world.pagerduty(...args);
  const gatewatch = (env?: Record<string, string>) => world.gatewatch(env);
  const rootOf = (id: string) => world.rootOf(id);
  const verdictOf = (id: string) => world.repliesOf(id, 'gatewatch_verdict')[0];
  const rootSays = (incidentId: string, pattern: RegExp) =>
    world.slack.waitFor(() => {
      const root = rootOf(incidentId);
      return root && pattern.test(root.text) ? root : undefined;
    });

  it('quiet: a recovered verdict and no alert for INCIDENT_QUIET_MS ends it; an incident that needs a fix does not end that way', async () => {
    const { gw, store } = await gatewatch({ INCIDENT_QUIET_MS: '1000', INCIDENT_SWEEP_MS: '200' });
    expect((await pd(gw, 'broken', 'PBROKEN1')).json).toMatchObject({ status: 'queued' });
    await world.slack.waitFor(() => verdictOf('PBROKEN1'));
    expect((await pd(gw, 'calm', 'PCALM001')).json).toMatchObject({ status: 'queued' });
    expect(String((await world.slack.waitFor(() => verdictOf('PCALM001'))).text)).toContain('recovered');

    await rootSays('PCALM001', /ended: recovered, and no alert for 1 s/);
    expect(await store.get('PCALM001')).toMatchObject({ state: 'resolved', endReason: 'quiet' });
    // The sweep that ended the calm one ran over a second after the broken one's verdict too.
    expect((await store.get('PBROKEN1'))?.state).not.toBe('resolved');
    // Ended means the service is free: the next alert is a new incident with its own diagnosis.
    expect((await pd(gw, 'calm', 'PCALM002')).json).toEqual({ incident: 'PCALM002', status: 'queued' });
  });

  it('max age: an incident open longer than INCIDENT_MAX_AGE_MS ends, though no resolve ever came', async () => {
    const { gw, store } = await gatewatch({ INCIDENT_MAX_AGE_MS: '2000', INCIDENT_SWEEP_MS: '200' });
    expect((await pd(gw, 'aging', 'PAGING01')).json).toMatchObject({ status: 'queued' });
    await rootSays('PAGING01', /ended: open longer than 2 s, the maximum age/);
    const ended = await store.get('PAGING01');
    expect(ended).toMatchObject({ state: 'resolved', endReason: 'max-age' });
    expect(Date.parse(ended!.resolvedAt!) - Date.parse(ended!.firstAlertAt)).toBeGreaterThanOrEqual(2000);
    expect((await pd(gw, 'aging', 'PAGING02')).json).toEqual({ incident: 'PAGING02', status: 'queued' });
  });

  it('by hand: /gateway resolve SERVICE ends the open incident and says who; a second one finds none', async () => {
    const { gw, store, slackDeps: deps } = await gatewatch();
    expect((await pd(gw, 'manual', 'PMANUAL1')).json).toMatchObject({ status: 'queued' });
    await world.slack.waitFor(() => verdictOf('PMANUAL1'));
    const cmd = { text: 'resolve manual', channel_id: 'C0ONCALL01', user_id: 'U0RESOLVER' };
    expect((await runGatewayCommand(cmd, deps)).text).toBe(
      'Resolved PMANUAL1 of *manual*; the next alert opens a new incident.',
    );
    await rootSays('PMANUAL1', /resolved by <@U0RESOLVER> in Slack/);
    expect(await store.get('PMANUAL1')).toMatchObject({ state: 'resolved', endReason: 'manual' });
    expect((await runGatewayCommand(cmd, deps)).text).toBe('*manual* has no open incident.');
    expect((await pd(gw, 'manual', 'PMANUAL2')).json).toEqual({ incident: 'PMANUAL2', status: 'queued' });
  });

  it('by hand: the root message carries a Resolve button while open; pressed, it ends the incident and the button goes', async () => {
    const { gw, slackDeps: deps } = await gatewatch();
    expect((await pd(gw, 'button', 'PBUTTON1')).json).toMatchObject({ status: 'queued' });
    await world.slack.waitFor(() => verdictOf('PBUTTON1'));
    expect(JSON.stringify(rootOf('PBUTTON1')!.blocks)).toContain('gatewatch_resolve');
    const answer = await resolveFromButton(
      'PBUTTON1',
      { channelId: 'C0ONCALL01', userId: 'U0PRESSER' },
      deps,
    );
    expect(answer).toBe('<@U0PRESSER> resolved PBUTTON1; the next alert of *button* opens a new incident.');
    const root = await rootSays('PBUTTON1', /resolved by <@U0PRESSER> in Slack/);
    expect(JSON.stringify(root.blocks)).not.toContain('gatewatch_resolve');
    // The mention is a mention in the blocks too, not escaped text.
    expect(JSON.stringify(root.blocks)).toContain('resolved by <@U0PRESSER> in Slack');
    expect(await resolveFromButton('PBUTTON1', { channelId: 'C0ONCALL01', userId: 'U0PRESSER' }, deps)).toBe(
      'PBUTTON1 had already ended.',
    );
  });

  it("by the source: PagerDuty's resolve ends it and the root says so", async () => {
    const { gw, store } = await gatewatch();
    expect((await pd(gw, 'source', 'PSOURCE1')).json).toMatchObject({ status: 'queued' });
    await world.slack.waitFor(() => verdictOf('PSOURCE1'));
    expect((await pd(gw, 'source', 'PSOURCE1', 'incident.resolved')).json).toEqual({
      incident: 'PSOURCE1',
      status: 'updated',
    });
    await rootSays('PSOURCE1', /resolved in pagerduty/);
    expect(await store.get('PSOURCE1')).toMatchObject({ state: 'resolved', endReason: 'source' });
  });
});
