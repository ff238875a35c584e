import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { isGatewatchError } from '../../src/errors.js';
import { signGatewatch, signPagerDuty } from '../../src/signing.js';
import { SOURCES } from '../../src/sources/registry.js';
import type { Alert, InboundRequest, ParseResult } from '../../src/sources/types.js';
import {
  AM_TOKEN,
  PD_SECRET,
  playbook,
  startGatewatch,
  type TestGatewatch,
  WEBHOOK_SECRET,
} from '../helpers/gatewatch.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { bearerHeaders, fixture, genericHeaders, pagerdutyHeaders, post } from '../ingest/send.js';

/**
 * Every registered source over every real payload we hold for it: what the
 * payload must become (alerts), and what the running server answers for it.
 */
interface Case {
  file: string;
  alerts: Partial<Alert>[];
  /** The header the delivery id comes from. */
  deliveryId?: string;
  /** The server's answer when the case is posted alone, in table order, to a fresh gatewatch. */
  answer: { status: number; body: Record<string, unknown> | ((b: Record<string, unknown>) => void) };
}

const NOW = Date.parse('2024-11-24T12:01:00Z');

const CASES: Record<
  string,
  { folder: string; headers: (body: string) => Record<string, string>; cases: Case[] }
> = {
  pagerduty: {
    folder: 'pagerduty',
    // One delivery id per payload, as PagerDuty sends (a shared one would make them retries of each other).
    headers: (body) => pagerdutyHeaders(body, `delivery-${createHash('sha1').update(body).digest('hex')}`),
    cases: [
      {
        file: 'incident.triggered.json',
        deliveryId: 'x-webhook-id',
        alerts: [
          {
            source: 'pagerduty',
            key: 'PFQZPSY',
            event: 'triggered',
            title: 'Test Incident 3',
            serviceIds: ['PA2P440'],
            url: 'https://pig208.pagerduty.com/incidents/PFQZPSY',
            startedAt: '2021-06-04T13:35:29.781Z',
          },
        ],
        answer: { status: 202, body: { incident: 'PFQZPSY', status: 'queued' } },
      },
      {
        file: 'incident.acknowledged.json',
        alerts: [{ key: 'PQ1K5C8', event: 'acknowledged', serviceIds: ['PA2P440'] }],
        answer: { status: 200, body: { ignored: 'no incident known for pagerduty alert PQ1K5C8' } },
      },
      {
        file: 'incident.resolved.json',
        alerts: [{ key: 'PCPZE64', event: 'resolved', startedAt: '2021-06-04T13:16:53.816Z' }],
        answer: { status: 200, body: { ignored: 'no incident known for pagerduty alert PCPZE64' } },
      },
      {
        file: 'incident.priority_updated.docs.json',
        alerts: [
          { key: 'PGR0VU2', event: 'updated', serviceIds: ['PF9KMXH'], title: 'A little bump in the road' },
        ],
        // Another PagerDuty service than the playbooks': not a known service's 502.
        answer: {
          status: 200,
          body: { ignored: "no playbook matches PagerDuty service PF9KMXH (not a known service's 502)" },
        },
      },
    ],
  },
  alertmanager: {
    folder: 'alertmanager',
    headers: () => bearerHeaders(),
    cases: [
      {
        file: 'webhook-firing.json',
        alerts: [
          {
            source: 'alertmanager',
            key: 'a1bc48475b20e73d',
            event: 'triggered',
            title: 'High CPU core temperature',
            labels: { alertname: 'High CPU Temperature', host: 'andromeda', severity: 'critical' },
            startedAt: '2020-02-06T00:17:58.432Z',
            serviceIds: [],
          },
          { key: 'c2ea85182f28cbd9', event: 'triggered' },
        ],
        // Both alerts are one service's: one incident, counted twice.
        answer: {
          status: 202,
          body: (b) => {
            expect(b.status).toBe('queued');
            expect(b.incident).toMatch(/^andromeda-/);
            expect(b.incidents).toBeUndefined();
          },
        },
      },
      {
        file: 'webhook-resolved.json',
        alerts: [{ key: 'a1bc48475b20e73d', event: 'resolved', startedAt: '2020-02-06T00:17:58.432Z' }],
        answer: { status: 202, body: (b) => expect(b.status).toBe('updated') },
      },
    ],
  },
  grafana: {
    folder: 'grafana',
    headers: () => bearerHeaders(),
    cases: [
      {
        file: 'webhook.json',
        alerts: [
          {
            source: 'grafana',
            key: 'c6eadffa33fcdf37',
            event: 'triggered',
            title: 'This alert was triggered for zone us-1',
            labels: { alertname: 'High memory usage', team: 'blue', zone: 'us-1' },
            startedAt: '2021-10-12T07:51:03.157Z',
            url: 'https://play.grafana.org/alerting/1afz29v7z/edit',
          },
          { key: 'bc97ff14869b13e3', event: 'triggered', startedAt: '2021-10-12T07:56:03.157Z' },
        ],
        answer: { status: 202, body: (b) => expect(b).toMatchObject({ status: 'queued' }) },
      },
      {
        file: 'webhook-v11.captured.json',
        alerts: [
          {
            key: 'e6349a25f5ef0e9e',
            event: 'triggered',
            title: 'High memory usage',
            startedAt: '2024-03-01T02:09:00.000Z',
          },
        ],
        // Matched by the title rule on the alert name, not by labels.
        answer: { status: 202, body: (b) => expect(b.incident).toMatch(/^device-memory-/) },
      },
    ],
  },
  generic: {
    folder: 'generic',
    headers: (body) => genericHeaders(body),
    cases: [
      {
        file: 'alert-triggered.json',
        alerts: [
          {
            source: 'generic',
            key: 'probe-checkout-502-2024-11-24T12:00',
            event: 'triggered',
            service: 'checkout-api',
            title: '502 Bad Gateway on /checkout (synthetic probe)',
            startedAt: '2024-11-24T12:00:00.000Z',
            url: 'https://status.example.com/checks/checkout',
          },
        ],
        answer: { status: 202, body: (b) => expect(b).toMatchObject({ status: 'queued' }) },
      },
      {
        file: 'alert-resolved.json',
        alerts: [{ key: 'probe-checkout-502-2024-11-24T12:00', event: 'resolved', service: 'checkout-api' }],
        answer: { status: 202, body: (b) => expect(b).toMatchObject({ status: 'updated' }) },
      },
    ],
  },
};

const PLAYBOOKS = [
  playbook({ service: 'pd-shop', match: { pagerduty_services: ['PA2P440'] } }),
  playbook({ service: 'andromeda', match: { labels: { host: 'andromeda' } } }),
  playbook({ service: 'blue-team', match: { labels: { team: 'blue' } } }),
  playbook({ service: 'device-memory', match: { title: '^memory' } }),
  playbook({ service: 'checkout-api', match: {} }),
];

const config = loadConfig({
  PAGERDUTY_WEBHOOK_SECRETS: PD_SECRET,
  ALERTMANAGER_TOKEN: AM_TOKEN,
  GATEWATCH_WEBHOOK_SECRET: WEBHOOK_SECRET,
});

function inbound(body: string, headers: Record<string, string>): InboundRequest {
  return { body: Buffer.from(body), headers };
}

function alertsOf(r: ParseResult): Alert[] {
  if ('ignored' in r) throw new Error(`ignored: ${r.ignored}`);
  return r.alerts;
}

describe('every source has its real fixtures', () => {
  it('lists each registered source here, so a new source cannot land without its contract', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(SOURCES).sort());
  });

  for (const [name, group] of Object.entries(CASES)) {
    for (const c of group.cases) {
      it(`${name}: ${c.file} authenticates and becomes its alerts`, () => {
        const source = SOURCES[name]!;
        const body = fixture(group.folder, c.file);
        const req = inbound(body, group.headers(body));
        expect(() => source.authenticate(req, config, Date.now())).not.toThrow();
        const parsed = source.parse(JSON.parse(body), req, NOW);
        const alerts = alertsOf(parsed);
        expect(alerts).toHaveLength(c.alerts.length);
        for (const [i, want] of c.alerts.entries()) expect(alerts[i]).toMatchObject(want);
        for (const a of alerts) expect(Number.isFinite(Date.parse(a.startedAt))).toBe(true);
        if (c.deliveryId) expect('deliveryId' in parsed && parsed.deliveryId).toBe(req.headers[c.deliveryId]);
      });

      it(`${name}: ${c.file} is refused with a wrong credential`, () => {
        const source = SOURCES[name]!;
        const body = fixture(group.folder, c.file);
        const wrong: Record<string, Record<string, string>> = {
          pagerduty: { 'x-pagerduty-signature': signPagerDuty(body, 'not-the-secret') },
          alertmanager: { authorization: `Bearer ${AM_TOKEN}x` },
          grafana: { authorization: 'Bearer nope' },
          generic: (() => {
            const s = signGatewatch(body, 'not-the-secret');
            return { 'x-gatewatch-timestamp': s.timestamp, 'x-gatewatch-signature': s.signature };
          })(),
        };
        let thrown: unknown;
        try {
          source.authenticate(inbound(body, wrong[name]!), config, Date.now());
        } catch (err) {
          thrown = err;
        }
        expect(isGatewatchError(thrown, 'UNAUTHORIZED')).toBe(true);
      });
    }
  }

  it('pagerduty: the signature test vector verifies, rotation included, and a mismatch does not', () => {
    const vector = JSON.parse(fixture('pagerduty', 'signature-vector.json')) as {
      secret: string;
      cases: { name: string; header_value: string | null; body_override?: string; expect: string }[];
    };
    const body = fixture('pagerduty', 'signature-vector.body.json');
    const vConfig = loadConfig({ PAGERDUTY_WEBHOOK_SECRETS: `old-secret,${vector.secret}` });
    const results = vector.cases.map((c) => {
      const headers: Record<string, string> = c.header_value
        ? { 'x-pagerduty-signature': c.header_value }
        : {};
      try {
        SOURCES.pagerduty!.authenticate(inbound(c.body_override ?? body, headers), vConfig, Date.now());
        return [c.name, 'valid'];
      } catch {
        return [c.name, 'invalid'];
      }
    });
    for (const [name, got] of results) {
      const want = vector.cases.find((c) => c.name === name)!.expect;
      expect(`${name}: ${got}`).toBe(`${name}: ${want === 'valid' ? 'valid' : 'invalid'}`);
    }
  });

  it('pagerduty: events that are not an incident change are ignored with the reason', () => {
    const env = JSON.parse(fixture('pagerduty', 'incident.triggered.json'));
    env.event.event_type = 'pagey.ping';
    env.event.resource_type = 'pagey';
    const r = SOURCES.pagerduty!.parse(env, inbound('', {}), NOW);
    expect(r).toEqual({ ignored: 'event type pagey.ping is not handled' });
  });

  it('grafana: a dedicated GRAFANA_TOKEN replaces the Alertmanager token', () => {
    const own = loadConfig({ ALERTMANAGER_TOKEN: AM_TOKEN, GRAFANA_TOKEN: 'grafana-only' });
    const body = fixture('grafana', 'webhook.json');
    expect(() =>
      SOURCES.grafana!.authenticate(inbound(body, bearerHeaders('grafana-only')), own, 0),
    ).not.toThrow();
    expect(() => SOURCES.grafana!.authenticate(inbound(body, bearerHeaders(AM_TOKEN)), own, 0)).toThrow(
      /bearer token/,
    );
  });

  it('alertmanager: an alert without a fingerprint gets a stable one from its labels', () => {
    const group = JSON.parse(fixture('alertmanager', 'webhook-firing.json'));
    for (const a of group.alerts) delete a.fingerprint;
    const once = alertsOf(SOURCES.alertmanager!.parse(group, inbound('', {}), NOW));
    const again = alertsOf(SOURCES.alertmanager!.parse(group, inbound('', {}), NOW));
    expect(once[0]!.key).toMatch(/^[0-9a-f]{16}$/);
    expect(once.map((a) => a.key)).toEqual(again.map((a) => a.key));
    // The two fixture alerts share their labels, so Alertmanager would give them one fingerprint too.
    expect(once[0]!.key).toBe(once[1]!.key);
  });

  it('a payload of the wrong shape is a 400-class error that names the field', () => {
    const group = JSON.parse(fixture('alertmanager', 'webhook-firing.json'));
    group.alerts[1].status = 'burning';
    let thrown: unknown;
    try {
      SOURCES.alertmanager!.parse(group, inbound('', {}), NOW);
    } catch (err) {
      thrown = err;
    }
    expect(isGatewatchError(thrown, 'BAD_REQUEST')).toBe(true);
    expect(String((thrown as Error).message)).toMatch(/alerts\[1\]\.status|alerts\.1\.status/);
  });
});

describe('every fixture through the running server', () => {
  let redis: PrivateRedis;
  let gw: TestGatewatch;

  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGatewatch({ redisUrl: redis.url, playbooks: PLAYBOOKS, work: false });
  });

  afterAll(async () => {
    await gw?.close();
    await redis?.destroy();
  });

  for (const [name, group] of Object.entries(CASES)) {
    it(`${name}: each fixture gets its answer`, async () => {
      for (const c of group.cases) {
        const body = fixture(group.folder, c.file);
        const res = await post(gw.baseUrl, `/webhooks/${name}`, body, group.headers(body));
        expect(res.contentType).toMatch(/^application\/json/);
        expect(`${c.file}: ${res.status}`).toBe(`${c.file}: ${c.answer.status}`);
        if (typeof c.answer.body === 'function') c.answer.body(res.json);
        else expect(res.json).toEqual(c.answer.body);
      }
    });
  }
});
