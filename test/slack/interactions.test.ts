import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_IDS } from '../../src/slack/format.js';
import { fromHash, type Incident } from '../../src/store/incident.js';
import { FakePagerDuty } from '../helpers/fake-pagerduty.js';
import type { FakeSlack, StoredMessage } from '../helpers/fake-slack.js';
import {
  type GatewatchWorld,
  playbook,
  startGatewatchWorld,
  type TestGatewatch,
} from '../helpers/gatewatch.js';
import { waitFor } from '../helpers/ports.js';
import type { PrivateRedis } from '../helpers/redis.js';
import { postPagerDuty } from '../helpers/signed.js';
import { refusingUpstream, type Upstream } from '../helpers/upstreams.js';
import { blockAction, postSlack } from './signed.js';

const triggered = readFileSync(new URL('../fixtures/pagerduty/incident.triggered.json', import.meta.url));
const PD_SERVICE = 'PA2P440'; // the fixture's service id
const PD_TOKEN = 'pd-rest-token-for-tests';
const PD_INCIDENT = (JSON.parse(triggered.toString()) as { event: { data: { id: string } } }).event.data.id;

describe('verdict buttons and the PagerDuty REST API, over signed interactions', () => {
  let redis: PrivateRedis;
  let slack: FakeSlack;
  let pd: FakePagerDuty;
  let gw: TestGatewatch;
  let upstream: Upstream;
  let incidentId: string;
  let verdict: StoredMessage;
  let n = 0;
  const responseUrl = () => slack.responseUrl(`act-${++n}`);
  const responsesTo = (url: string) => slack.responses.filter((r) => url.endsWith(`/response/${r.id}`));
  const incident = async (): Promise<Incident> =>
    fromHash(await redis.client().hgetall(`${gw.prefix}:incident:${incidentId}`))!;
  const press = (
    actionId: string,
    opts: { value?: string; selected?: string; url: string; userId?: string },
  ) =>
    blockAction({
      actionId,
      value: opts.value,
      selected: opts.selected,
      channelId: verdict.channel,
      messageTs: verdict.ts,
      threadTs: verdict.thread_ts,
      userId: opts.userId,
      responseUrl: opts.url,
    });

  let world: GatewatchWorld;

  beforeAll(async () => {
    pd = await new FakePagerDuty(PD_TOKEN, 'oncall@example.com').start();
    pd.addIncident(PD_INCIDENT);
    upstream = await refusingUpstream();
    world = await startGatewatchWorld({
      slack: true,
      env: { PAGERDUTY_API_TOKEN: PD_TOKEN, PAGERDUTY_API_URL: pd.url, PAGERDUTY_FROM: 'oncall@example.com' },
      playbooks: [
        playbook({
          service: 'shop',
          match: { pagerduty_services: [PD_SERVICE] },
          slack: { channel: '#shop-incidents' },
          checks: { upstream: { targets: [upstream.url], timeout_ms: 300, probes: 1 } },
        }),
      ],
    });
    ({ redis, slack, gw } = world);
    const res = await postPagerDuty(gw.baseUrl, triggered);
    expect(res.statusCode).toBe(202);
    incidentId = String(((await res.body.json()) as { incident: string }).incident);
    verdict = await slack.waitFor(() =>
      slack.messages.find((m) => m.metadata?.event_type === 'gatewatch_verdict'),
    );
  });

  afterAll(async () => {
    await world?.stop();
    await pd?.stop();
    await upstream?.close();
  });

  it('the verdict reply carries Re-run, Acknowledge and "Verdict was wrong", each naming the incident', () => {
    const actions = verdict.blocks?.at(-1) as {
      type: string;
      elements: { action_id: string; value: string }[];
    };
    expect(actions.type).toBe('actions');
    expect(actions.elements.map((e) => e.action_id)).toEqual([
      ACTION_IDS.rerun,
      ACTION_IDS.acknowledge,
      ACTION_IDS.wrong,
    ]);
    expect(new Set(actions.elements.map((e) => e.value))).toEqual(new Set([incidentId]));
    expect(verdict.metadata?.event_payload).toMatchObject({
      service: 'shop',
      cause: 'upstream_down',
      recommendation: 'fix',
    });
  });

  it('the verdict is added to the PagerDuty incident as a note, once, with the token and From header', async () => {
    expect((await incident()).externalId).toBe(PD_INCIDENT);
    const pdIncident = await waitFor(() => {
      const found = pd.incidents.get(PD_INCIDENT);
      return found && found.notes.length > 0 ? found : null;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(pdIncident.notes).toHaveLength(1);
    expect(pdIncident.notes[0]!.content).toContain('FIX — shop');
    expect(pdIncident.notes[0]!.from).toBe('oncall@example.com');
  });

  it('stale and wrongly signed interactions are refused with 401 and change nothing', async () => {
    const url = responseUrl();
    const body = press(ACTION_IDS.acknowledge, { value: incidentId, url });
    const stale = await postSlack(gw, body, { nowMs: Date.now() - 5 * 60_000 - 30_000 });
    expect(stale.status).toBe(401);
    const wrong = await postSlack(gw, body, { secret: 'someone-else' });
    expect(wrong.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(pd.calls.filter((c) => c.method === 'PUT')).toHaveLength(0);
    expect(responsesTo(url)).toHaveLength(0);
  });

  it('Acknowledge acknowledges the PagerDuty incident via the REST API, and the root message shows it', async () => {
    const url = responseUrl();
    const res = await postSlack(
      gw,
      press(ACTION_IDS.acknowledge, { value: incidentId, url, userId: 'U0CAROL01' }),
    );
    expect(res.status).toBe(200);
    const answer = await slack.waitFor(() => responsesTo(url)[0]);
    expect(String(answer.body.text)).toContain('<@U0CAROL01> acknowledged PagerDuty incident');
    expect(pd.incidents.get(PD_INCIDENT)?.status).toBe('acknowledged');
    const put = pd.calls.find((c) => c.method === 'PUT')!;
    expect(put.headers.authorization).toBe(`Token token=${PD_TOKEN}`);
    expect(put.body).toEqual({ incident: { type: 'incident_reference', status: 'acknowledged' } });
    expect((await incident()).state).toBe('acknowledged');
    const root = slack.roots()[0]!;
    await slack.waitFor(() => root.text.includes(':eyes: acknowledged'), 10_000);
    expect(slack.roots()).toHaveLength(1);
  });

  it('Re-run checks runs a new diagnosis whose verdict lands in the same thread', async () => {
    const url = responseUrl();
    const res = await postSlack(gw, press(ACTION_IDS.rerun, { value: incidentId, url }));
    expect(res.status).toBe(200);
    const answer = await slack.waitFor(() => responsesTo(url)[0]);
    expect(String(answer.body.text)).toContain('run 2');
    const root = slack.roots()[0]!;
    await slack.waitFor(() => slack.replies(root.ts).filter((m) => m.metadata).length === 2);
    expect(slack.roots()).toHaveLength(1);
    expect((await incident()).verdictTs).toMatch(/^2:/);
    // Each run's verdict is also a note on the PagerDuty incident.
    await waitFor(() => pd.incidents.get(PD_INCIDENT)!.notes.length === 2, 10_000, 'the second note');
    expect(pd.incidents.get(PD_INCIDENT)!.notes[1]!.content).toContain('run 2');
  });

  it('"Verdict was wrong" asks which cause was right; the answer is stored with the incident', async () => {
    const res = await postSlack(gw, press(ACTION_IDS.wrong, { value: incidentId, url: responseUrl() }));
    expect(res.status).toBe(200);
    const question = await slack.waitFor(() => slack.ephemerals[0]);
    expect(question.user).toBe('U0ALICE01');
    expect(question.channel).toBe(verdict.channel);
    const select = (
      question.blocks![1] as { elements: { action_id: string; options: { value: string }[] }[] }
    ).elements[0]!;
    expect(select.action_id).toBe(ACTION_IDS.feedback);
    // Every cause of the contract (19) but the one the verdict gave.
    expect(select.options).toHaveLength(18);
    const choice = select.options.find((o) => o.value.startsWith('proxy_misrouted:'))!;

    const url = responseUrl();
    await postSlack(gw, press(ACTION_IDS.feedback, { selected: choice.value, url }));
    const answer = await slack.waitFor(() => responsesTo(url)[0]);
    expect(answer.body.replace_original).toBe(true);
    expect(String(answer.body.text)).toContain('`proxy_misrouted`');
    expect((await incident()).feedback).toBe('proxy_misrouted');
  });

  it('feedback naming no known cause is refused and stores nothing', async () => {
    const url = responseUrl();
    await postSlack(gw, press(ACTION_IDS.feedback, { selected: `not_a_cause:${incidentId}`, url }));
    const answer = await slack.waitFor(() => responsesTo(url)[0]);
    expect(String(answer.body.text)).toContain('not a cause');
    expect((await incident()).feedback).toBe('proxy_misrouted');
  });
});
