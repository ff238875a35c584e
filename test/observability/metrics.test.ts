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
import { pagerdutyTriggered } from '../helpers/signed.js';
import { refusingUpstream } from '../helpers/upstreams.js';

/** The value of one sample line of the exposition text, or undefined when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

describe('/metrics after real traffic', () => {
  let slack: FakeSlack;
  let gw: TestGatewatch;

  let world: GatewatchWorld;

  beforeAll(async () => {
    const dead = await refusingUpstream();
    world = await startGatewatchWorld({
      slack: true,
      playbooks: [
        playbook({
          service: 'obs-api',
          match: { pagerduty_services: ['POBS001'] },
          checks: { upstream: { targets: [dead.url], probes: 1, timeout_ms: 1000 } },
        }),
      ],
    });
    ({ slack, gw } = world);
  });

  afterAll(() => world?.stop());

  async function post(body: string, signature: string) {
    const res = await request(`${gw.baseUrl}/webhooks/pagerduty`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pagerduty-signature': signature },
      body,
    });
    await res.body.dump();
    return res.statusCode;
  }

  async function scrape(): Promise<string> {
    const res = await request(`${gw.baseUrl}/metrics`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    return res.body.text();
  }

  it('counts webhooks by outcome, incidents, verdicts, check durations, jobs, queue depth and Slack calls', async () => {
    // The first root message meets a rate limit: the client waits Retry-After and tries again.
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const body = pagerdutyTriggered('POBSINC1', 'POBS001');
    expect(await post(body, signPagerDuty(body, PD_SECRET))).toBe(202);
    expect(await post(body, 'v1=00')).toBe(401);
    await slack.waitFor(
      () => slack.messages.find((m) => m.metadata?.event_type === 'gatewatch_verdict'),
      30_000,
    );

    const text = await waitFor(
      async () => {
        const t = await scrape();
        return sample(t, 'gatewatch_job_duration_seconds_count', { kind: 'diagnose', outcome: 'completed' })
          ? t
          : null;
      },
      10_000,
      'the diagnose job to be counted',
    );
    expect(sample(text, 'gatewatch_webhooks_total', { source: 'pagerduty', outcome: '202' })).toBe(1);
    expect(sample(text, 'gatewatch_webhooks_total', { source: 'pagerduty', outcome: '401' })).toBe(1);
    expect(sample(text, 'gatewatch_incidents_total', { service: 'obs-api' })).toBe(1);
    expect(sample(text, 'gatewatch_verdicts_total', { cause: 'upstream_down', recommendation: 'fix' })).toBe(
      1,
    );
    expect(
      sample(text, 'gatewatch_check_duration_seconds_count', { check: 'upstream', status: 'fail' }),
    ).toBe(1);
    expect(sample(text, 'gatewatch_job_wait_seconds_count', { kind: 'diagnose' })).toBe(1);
    expect(sample(text, 'gatewatch_queue_jobs', { state: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gatewatch_queue_jobs', { state: 'active' })).toBe(0);
    expect(sample(text, 'gatewatch_slack_calls_total', { method: 'chat.postMessage', outcome: 'ok' })).toBe(
      2,
    );
    expect(
      sample(text, 'gatewatch_slack_calls_total', { method: 'chat.postMessage', outcome: 'http_429' }),
    ).toBe(1);
    expect(sample(text, 'gatewatch_slack_rate_limited_total')).toBe(1);
    expect(sample(text, 'gatewatch_slack_rate_limit_wait_seconds_total')).toBe(1);
    expect(sample(text, 'gatewatch_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('answers /healthz and /readyz', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await request(`${gw.baseUrl}${path}`);
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toHaveProperty('status');
    }
  });
});
