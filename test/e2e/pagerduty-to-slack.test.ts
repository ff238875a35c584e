import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPagerDuty } from '../../src/signing.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import {
  type GatewatchWorld,
  PD_SECRET,
  playbook,
  startGatewatchWorld,
  type TestGatewatch,
} from '../helpers/gatewatch.js';
import { waitFor } from '../helpers/ports.js';
import type { PrivateRedis } from '../helpers/redis.js';
import { healthyUpstream, type Upstream } from '../helpers/upstreams.js';

const triggered = readFileSync(new URL('../fixtures/pagerduty/incident.triggered.json', import.meta.url));
const PD_SERVICE = 'PA2P440'; // the fixture's service id
const PD_INCIDENT = 'PFQZPSY';

function post(gw: TestGatewatch, body: Buffer | string, headers: Record<string, string>) {
  return request(`${gw.baseUrl}/webhooks/pagerduty`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

describe('end to end: a signed PagerDuty alert becomes a verdict in a Slack thread', () => {
  let redis: PrivateRedis;
  let slack: FakeSlack;
  let gw: TestGatewatch;
  let upstream: Upstream;
  let world: GatewatchWorld;

  beforeAll(async () => {
    upstream = await healthyUpstream();
    world = await startGatewatchWorld({
      slack: true,
      playbooks: [
        playbook({
          service: 'shop',
          match: { pagerduty_services: [PD_SERVICE] },
          slack: { channel: '#shop-incidents' },
          checks: { upstream: { targets: [upstream.url], timeout_ms: 500, probes: 2 } },
        }),
      ],
    });
    ({ redis, slack, gw } = world);
  });

  afterAll(async () => {
    await world?.stop();
    await upstream?.close();
  });

  it('the upstream is stopped, the real incident.triggered arrives signed: one root message, one verdict reply', async () => {
    await upstream.close();
    const res = await post(gw, triggered, {
      'x-pagerduty-signature': `v1=${'0'.repeat(64)},${signPagerDuty(triggered, PD_SECRET)}`,
      'x-webhook-id': 'delivery-1',
    });
    expect(res.statusCode).toBe(202);
    expect(await res.body.json()).toEqual({ incident: PD_INCIDENT, status: 'queued' });

    const verdictMsg = await slack.waitFor(() =>
      slack.messages.find((m) => m.metadata?.event_type === 'gatewatch_verdict'),
    );
    await slack.waitFor(() => slack.roots()[0]?.edits);
    const roots = slack.roots();
    expect(roots).toHaveLength(1);
    expect(roots[0]!.text).toContain('shop');
    expect(slack.replies(roots[0]!.ts)).toHaveLength(1);
    expect(verdictMsg.thread_ts).toBe(roots[0]!.ts);
    expect(verdictMsg.metadata!.event_payload).toMatchObject({
      service: 'shop',
      incident: PD_INCIDENT,
      cause: 'upstream_down',
      recommendation: 'fix',
    });
    const payload = verdictMsg.metadata!.event_payload;
    for (const key of ['confidence', 'summary', 'duration_ms']) expect(payload).toHaveProperty(key);
    expect(verdictMsg.text).toContain(`127.0.0.1:${upstream.port}`);
    // Every Slack call carried the bot token and went to the channel the playbook names.
    expect(slack.calls.every((c) => c.token === 'xoxb-test')).toBe(true);
    expect(slack.callsOf('chat.postMessage')[0]!.args.channel).toBe('#shop-incidents');
  });

  it('the same delivery retried by PagerDuty changes nothing', async () => {
    const queue = new Queue(gw.queueName, { connection: redis.client(), prefix: gw.prefix });
    /** Nothing waiting, running or delayed but the schedules (weekly digest, lifecycle sweep): every job the incident caused has run. */
    const idle = async () => {
      const pending = await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
      return pending.every((j) => j.name === 'digest' || j.name === 'sweep');
    };
    try {
      // The first delivery's work is done: its verdict is posted and its jobs have run.
      await slack.waitFor(() => slack.messages.find((m) => m.metadata?.event_type === 'gatewatch_verdict'));
      await waitFor(idle, 15_000, "the first delivery's jobs to finish");
      const jobsBefore = await queue.getJobCounts('completed', 'failed');
      const before = slack.callsOf('chat.postMessage').length;
      const res = await post(gw, triggered, {
        'x-pagerduty-signature': signPagerDuty(triggered, PD_SECRET),
        'x-webhook-id': 'delivery-1',
      });
      expect(res.statusCode).toBe(202);
      expect(await res.body.json()).toMatchObject({ incident: PD_INCIDENT, status: 'duplicate' });
      // Anything the retry had queued (an edit is delayed 2 s) would have run by the time the queue is idle.
      await waitFor(idle, 15_000, 'the queue to be idle after the retry');
      expect(await queue.getJobCounts('completed', 'failed')).toEqual(jobsBefore);
      expect(slack.callsOf('chat.postMessage').length).toBe(before);
    } finally {
      await queue.close();
    }
  });

  it('a bad signature gets 401 and nothing is queued', async () => {
    const queue = new Queue(gw.queueName, { connection: redis.client(), prefix: gw.prefix });
    const before = await queue.getJobCounts();
    const body = Buffer.from(triggered.toString().replace(PD_INCIDENT, 'PFORGED'));
    for (const sig of [
      signPagerDuty(triggered, PD_SECRET),
      signPagerDuty(body, 'wrong-secret'),
      'v1=zz',
      '',
    ]) {
      const res = await post(gw, body, sig ? { 'x-pagerduty-signature': sig } : {});
      expect(res.statusCode).toBe(401);
      expect(await res.body.json()).toHaveProperty('error');
    }
    expect(await queue.getJobCounts()).toEqual(before);
    expect(await redis.client().keys(`${gw.prefix}:incident:PFORGED*`)).toEqual([]);
    await queue.close();
  });

  it('with Redis stopped the webhook gets 503 quickly, and /readyz says unavailable', async () => {
    await redis.stop();
    const started = Date.now();
    const body = Buffer.from(triggered.toString().replace(PD_INCIDENT, 'PWHILEDOWN'));
    const res = await post(gw, body, { 'x-pagerduty-signature': signPagerDuty(body, PD_SECRET) });
    expect(res.statusCode).toBe(503);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(await res.body.json()).toHaveProperty('error');
    const ready = await request(`${gw.baseUrl}/readyz`);
    expect(ready.statusCode).toBe(503);
    await ready.body.dump();
    await redis.restart();
  });
});
