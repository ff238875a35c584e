import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../src/store/store.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import {
  type GatewatchWorld,
  playbook,
  startGatewatchWorld,
  type TestGatewatch,
} from '../helpers/gatewatch.js';
import { waitFor } from '../helpers/ports.js';
import type { PrivateRedis } from '../helpers/redis.js';
import { healthyUpstream, type Upstream } from '../helpers/upstreams.js';
import { alertmanagerGroup, bearerHeaders, pagerdutyEvent, pagerdutyHeaders, post } from './send.js';

describe('incident lifecycle', () => {
  let redis: PrivateRedis;
  let slack: FakeSlack;
  let upstream: Upstream;
  let gw: TestGatewatch;
  let store: IncidentStore;

  let world: GatewatchWorld;

  beforeAll(async () => {
    upstream = await healthyUpstream();
    const checks = { upstream: { targets: [upstream.url], probes: 1, timeout_ms: 1000 } };
    world = await startGatewatchWorld({
      slack: true,
      playbooks: [
        playbook({ service: 'shop', match: { pagerduty_services: ['PSHOP01'] }, checks }),
        playbook({ service: 'am-svc', match: { labels: { service: 'am-svc' } }, checks }),
        playbook({ service: 'other-svc', match: { labels: { service: 'other-svc' } }, checks }),
      ],
    });
    ({ redis, slack, gw } = world);
    store = new IncidentStore(redis.client(), gw.prefix);
  });

  afterAll(async () => {
    await world?.stop();
    await upstream?.close();
  });

  async function pd(eventType: string, occurredAt?: string) {
    const body = pagerdutyEvent({ eventType, incidentId: 'PLIFE01', serviceId: 'PSHOP01', occurredAt });
    return post(gw.baseUrl, '/webhooks/pagerduty', body, pagerdutyHeaders(body));
  }

  const verdictReplies = () => slack.messages.filter((m) => m.thread_ts && m.metadata);

  it('PagerDuty: triggered → diagnosing → diagnosed → acknowledged → resolved, then reopened and diagnosed again', async () => {
    const onset = new Date(Date.now() - 23 * 60_000).toISOString();
    expect((await pd('incident.triggered', onset)).json).toEqual({ incident: 'PLIFE01', status: 'queued' });

    await slack.waitFor(() => verdictReplies().length === 1);
    const diagnosed = await waitFor(async () => {
      const i = await store.get('PLIFE01');
      return i?.state === 'diagnosed' ? i : null;
    });
    expect(diagnosed).toMatchObject({ service: 'shop', onsetAt: onset, run: 1, alertCount: 1 });
    expect(diagnosed.verdict?.service).toBe('shop');
    for (const t of [diagnosed.firstAlertAt, diagnosed.diagnosingAt, diagnosed.verdictAt])
      expect(Date.parse(t ?? '')).toBeGreaterThan(Date.parse(onset));

    expect((await pd('incident.acknowledged')).json).toEqual({ incident: 'PLIFE01', status: 'updated' });
    const acked = await store.get('PLIFE01');
    expect(acked?.state).toBe('acknowledged');
    expect(acked?.acknowledgedAt).not.toBeNull();

    expect((await pd('incident.resolved')).json).toEqual({ incident: 'PLIFE01', status: 'updated' });
    const resolved = await store.get('PLIFE01');
    expect(resolved?.state).toBe('resolved');
    expect(Date.parse(resolved?.resolvedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(acked!.acknowledgedAt!));
    // The root message is edited, never re-posted.
    const root = await slack.waitFor(() => slack.roots().find((m) => /resolved after 23 min/.test(m.text)));
    expect(slack.roots()).toHaveLength(1);
    expect(root.edits).toBeGreaterThanOrEqual(1);
    // A retried resolution changes nothing.
    expect((await pd('incident.resolved')).json).toEqual({ incident: 'PLIFE01', status: 'duplicate' });

    expect((await pd('incident.reopened')).json).toEqual({ incident: 'PLIFE01', status: 'queued' });
    await slack.waitFor(() => verdictReplies().length === 2);
    const again = await waitFor(async () => {
      const i = await store.get('PLIFE01');
      return i?.state === 'diagnosed' ? i : null;
    });
    expect(again).toMatchObject({ run: 2, resolvedAt: null, acknowledgedAt: null });
    expect(slack.roots()).toHaveLength(1);
    expect(verdictReplies().every((m) => m.thread_ts === root.ts)).toBe(true);
    // Reopening what is already open is a duplicate, not a third diagnosis.
    expect((await pd('incident.reopened')).json).toEqual({ incident: 'PLIFE01', status: 'duplicate' });
    expect((await store.get('PLIFE01'))?.run).toBe(2);
  });

  it('Alertmanager: alerts of one service are one incident, resolved only when all of them ended', async () => {
    const fire = alertmanagerGroup([
      { status: 'firing', fingerprint: 'f000000000000001', labels: { service: 'am-svc' } },
      { status: 'firing', fingerprint: 'f000000000000002', labels: { service: 'am-svc' } },
    ]);
    const opened = await post(gw.baseUrl, '/webhooks/alertmanager', fire, bearerHeaders());
    expect(opened.status).toBe(202);
    expect(opened.json).toMatchObject({ status: 'queued' });
    const id = String(opened.json.incident);
    expect(await store.firingAlerts(id)).toEqual([
      'alertmanager:f000000000000001',
      'alertmanager:f000000000000002',
    ]);
    expect((await store.get(id))?.alertCount).toBe(2);

    const endOne = alertmanagerGroup([
      { status: 'resolved', fingerprint: 'f000000000000001', labels: { service: 'am-svc' } },
      { status: 'firing', fingerprint: 'f000000000000002', labels: { service: 'am-svc' } },
    ]);
    const partial = await post(gw.baseUrl, '/webhooks/alertmanager', endOne, bearerHeaders());
    expect(partial.json).toEqual({ incident: id, status: 'updated' });
    expect((await store.get(id))?.state).not.toBe('resolved');
    expect(await store.firingAlerts(id)).toEqual(['alertmanager:f000000000000002']);

    // A delayed retry of the first notification must not revive the alert that ended.
    const late = await post(gw.baseUrl, '/webhooks/alertmanager', fire, bearerHeaders());
    expect(late.json).toEqual({ incident: id, status: 'duplicate' });
    expect(await store.firingAlerts(id)).toEqual(['alertmanager:f000000000000002']);

    const endAll = alertmanagerGroup([
      { status: 'resolved', fingerprint: 'f000000000000002', labels: { service: 'am-svc' } },
    ]);
    expect((await post(gw.baseUrl, '/webhooks/alertmanager', endAll, bearerHeaders())).json).toEqual({
      incident: id,
      status: 'updated',
    });
    const done = await store.get(id);
    expect(done?.state).toBe('resolved');
    expect(done?.resolvedAt).not.toBeNull();
  });

  it('Alertmanager: an end that overtakes its firing is remembered; a later firing is a new problem', async () => {
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const alert = { fingerprint: 'f000000000000003', labels: { service: 'am-svc' }, startsAt };
    const end = await post(
      gw.baseUrl,
      '/webhooks/alertmanager',
      alertmanagerGroup([{ ...alert, status: 'resolved' }]),
      bearerHeaders(),
    );
    expect(end.json).toEqual({ ignored: 'no incident known for alertmanager alert f000000000000003' });
    const overtaken = await post(
      gw.baseUrl,
      '/webhooks/alertmanager',
      alertmanagerGroup([{ ...alert, status: 'firing' }]),
      bearerHeaders(),
    );
    expect(overtaken.json).toEqual({
      ignored: 'alertmanager alert f000000000000003 has already ended (a delayed delivery)',
    });
    const next = await post(
      gw.baseUrl,
      '/webhooks/alertmanager',
      alertmanagerGroup([{ ...alert, status: 'firing', startsAt: new Date().toISOString() }]),
      bearerHeaders(),
    );
    expect(next.status).toBe(202);
    expect(next.json).toMatchObject({ status: 'queued' });
  });

  it('one payload touching two services answers with both incidents, and with what it ignored', async () => {
    const body = alertmanagerGroup([
      { status: 'firing', fingerprint: 'f000000000000010', labels: { service: 'other-svc' } },
      { status: 'firing', fingerprint: 'f000000000000011', labels: { service: 'am-svc' } },
      { status: 'firing', fingerprint: 'f000000000000012', labels: { service: 'nobody' } },
    ]);
    const res = await post(gw.baseUrl, '/webhooks/alertmanager', body, bearerHeaders());
    expect(res.status).toBe(202);
    const incidents = res.json.incidents as { incident: string; status: string }[];
    expect(incidents).toHaveLength(2);
    expect(res.json.incident).toBe(incidents[0]!.incident);
    const services = await Promise.all(incidents.map(async (i) => (await store.get(i.incident))?.service));
    expect(services.sort()).toEqual(['am-svc', 'other-svc']);
    expect(res.json.ignored).toEqual([expect.stringMatching(/no playbook matches/)]);
  });
});
