import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GatewatchWorld,
  playbook,
  startGatewatchWorld,
  type TestGatewatch,
} from '../helpers/gatewatch.js';
import { waitFor } from '../helpers/ports.js';
import type { PrivateRedis } from '../helpers/redis.js';
import {
  alertmanagerGroup,
  bearerHeaders,
  fixture,
  genericHeaders,
  pagerdutyEvent,
  pagerdutyHeaders,
  post,
} from './send.js';

const MIB = 1024 * 1024;

/** Each error status the contract lists, produced for real, and always JSON. */
describe('webhook errors', () => {
  let redis: PrivateRedis;
  let gw: TestGatewatch;

  let world: GatewatchWorld;

  beforeAll(async () => {
    world = await startGatewatchWorld({
      work: false,
      playbooks: [playbook({ service: 'shop', match: { pagerduty_services: ['PA2P440'] } })],
    });
    ({ redis, gw } = world);
  });

  afterAll(() => world?.stop());

  const triggered = () => pagerdutyEvent({ eventType: 'incident.triggered', incidentId: 'PERR001' });

  async function expectError(res: Awaited<ReturnType<typeof post>>, status: number, message: RegExp) {
    expect(res.status).toBe(status);
    expect(res.contentType).toMatch(/^application\/json/);
    expect(Object.keys(res.json)).toEqual(['error']);
    expect(String(res.json.error)).toMatch(message);
  }

  it('415 for a content type the source does not send', async () => {
    const body = triggered();
    const res = await post(gw.baseUrl, '/webhooks/pagerduty', body, {
      ...pagerdutyHeaders(body),
      'content-type': 'text/plain',
    });
    await expectError(res, 415, /application\/json.*text\/plain/);
  });

  it('413 for a body over 1 MiB, declared or streamed', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(MIB) });
    const declared = await post(gw.baseUrl, '/webhooks/pagerduty', big, pagerdutyHeaders(big));
    await expectError(declared, 413, /over the 1048576-byte limit/);

    // Without a Content-Length the limit still holds, counted as the chunks arrive.
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(64 * 1024, 'x'));
    const res = await request(`${gw.baseUrl}/webhooks/alertmanager`, {
      method: 'POST',
      headers: bearerHeaders(),
      body: Readable.from(chunks),
    });
    expect(res.statusCode).toBe(413);
    expect(await res.body.json()).toEqual({ error: expect.stringMatching(/over the 1048576-byte limit/) });
  });

  it('a body just under 1 MiB is read (and then judged on its content)', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(MIB - 100) });
    const res = await post(gw.baseUrl, '/webhooks/pagerduty', body, pagerdutyHeaders(body));
    await expectError(res, 400, /not a PagerDuty v3 webhook/);
  });

  it('400 for malformed JSON, saying where', async () => {
    const body = '{"event": {\n  "id": "x",\n  "event_type": }\n}';
    const res = await post(gw.baseUrl, '/webhooks/pagerduty', body, pagerdutyHeaders(body));
    await expectError(res, 400, /malformed JSON at line 3, column 17/);
    const truncated = '{"receiver": "x", "alerts": [';
    const am = await post(gw.baseUrl, '/webhooks/alertmanager', truncated, bearerHeaders());
    await expectError(
      am,
      400,
      /malformed JSON at line 1, column 30 \(offset 29\): Unexpected end of JSON input/,
    );
  });

  it('400 for JSON of the wrong shape, naming the field', async () => {
    const body = JSON.stringify({ service: 'shop', title: 't', status: 'exploded', id: 'x' });
    const res = await post(gw.baseUrl, '/webhooks/generic', body, genericHeaders(body));
    await expectError(res, 400, /status/);
  });

  it('401 for a bad or missing signature or token, on every source', async () => {
    const pd = triggered();
    await expectError(
      await post(gw.baseUrl, '/webhooks/pagerduty', pd, {
        ...pagerdutyHeaders(pd),
        'x-pagerduty-signature': 'v1=00',
      }),
      401,
      /does not match/,
    );
    await expectError(
      await post(gw.baseUrl, '/webhooks/pagerduty', pd, { 'content-type': 'application/json' }),
      401,
      /missing X-PagerDuty-Signature/,
    );
    const am = fixture('alertmanager', 'webhook-firing.json');
    await expectError(
      await post(gw.baseUrl, '/webhooks/alertmanager', am, bearerHeaders('wrong')),
      401,
      /bearer token/,
    );
    await expectError(
      await post(gw.baseUrl, '/webhooks/alertmanager', am, { 'content-type': 'application/json' }),
      401,
      /missing "Authorization: Bearer"/,
    );
    const gf = fixture('grafana', 'webhook.json');
    await expectError(
      await post(gw.baseUrl, '/webhooks/grafana', gf, bearerHeaders('wrong')),
      401,
      /bearer token/,
    );
    const generic = fixture('generic', 'alert-triggered.json');
    const stale = genericHeaders(generic, Date.now() - 10 * 60_000);
    await expectError(
      await post(gw.baseUrl, '/webhooks/generic', generic, stale),
      401,
      /within five minutes/,
    );
    await expectError(
      await post(gw.baseUrl, '/webhooks/generic', generic, {
        ...genericHeaders(generic),
        'x-gatewatch-signature': `sha256=${'0'.repeat(64)}`,
      }),
      401,
      /does not match/,
    );
  });

  it('404 and 405 are JSON too', async () => {
    await expectError(await post(gw.baseUrl, '/webhooks/nagios', '{}', bearerHeaders()), 404, /nagios/);
    const res = await request(`${gw.baseUrl}/webhooks/pagerduty`);
    expect(res.statusCode).toBe(405);
    expect(await res.body.json()).toEqual({ error: 'use POST' });
  });

  it('alerts that are no known service 502 answer 200 with the reason and are counted', async () => {
    const group = alertmanagerGroup([
      { status: 'firing', fingerprint: 'aaaa000000000001', labels: { host: 'elsewhere' } },
      { status: 'firing', fingerprint: 'aaaa000000000002', labels: { host: 'elsewhere' } },
    ]);
    const res = await post(gw.baseUrl, '/webhooks/alertmanager', group, bearerHeaders());
    expect(res.status).toBe(200);
    expect(res.json.ignored).toMatch(/no playbook matches "High CPU core temperature"/);
    const ping = JSON.parse(triggered());
    ping.event.event_type = 'pagey.ping';
    ping.event.resource_type = 'pagey';
    const body = JSON.stringify(ping);
    const pd = await post(gw.baseUrl, '/webhooks/pagerduty', body, pagerdutyHeaders(body));
    expect(pd).toMatchObject({ status: 200, json: { ignored: 'event type pagey.ping is not handled' } });

    const metrics = await (await request(`${gw.baseUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/gatewatch_alerts_ignored_total\{source="alertmanager"\} 2\b/);
    expect(metrics).toMatch(/gatewatch_alerts_ignored_total\{source="pagerduty"\} 1\b/);
    expect(metrics).toMatch(/gatewatch_webhooks_total\{source="pagerduty",outcome="401"\} [1-9]/);
  });

  it('503 within 2 s while Redis is down, never a hang, and 202 again once it is back', async () => {
    const body = triggered();
    expect((await post(gw.baseUrl, '/webhooks/pagerduty', body, pagerdutyHeaders(body))).status).toBe(202);

    await redis.stop();
    const pd = pagerdutyEvent({ eventType: 'incident.triggered', incidentId: 'PERR002' });
    const generic = fixture('generic', 'alert-triggered.json').replace('checkout-api', 'shop');
    for (const [path, b, headers] of [
      ['/webhooks/pagerduty', pd, pagerdutyHeaders(pd)],
      ['/webhooks/generic', generic, genericHeaders(generic)],
    ] as const) {
      const res = await post(gw.baseUrl, path, b, headers);
      await expectError(res, 503, /queue|Redis|retry/i);
      expect(res.ms).toBeLessThan(2500);
    }
    const ready = await request(`${gw.baseUrl}/readyz`);
    expect(ready.statusCode).toBe(503);
    await ready.body.dump();

    await redis.restart();
    const again = pagerdutyEvent({ eventType: 'incident.triggered', incidentId: 'PERR003' });
    const res = await waitFor(
      async () => {
        const r = await post(
          gw.baseUrl,
          '/webhooks/pagerduty',
          again,
          pagerdutyHeaders(again, 'after-outage'),
        );
        return r.status === 202 ? r : null;
      },
      15_000,
      'a 202 after Redis came back',
    );
    // A retry that raced the reconnect may have opened it already; either way it is the one incident.
    expect(res.json).toEqual({ incident: 'PERR003', status: expect.stringMatching(/^(queued|duplicate)$/) });
  });
});
