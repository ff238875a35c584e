import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeEventStore } from '../../src/store/change-events.js';
import {
  type GatewatchWorld,
  playbook,
  startGatewatchWorld,
  type TestGatewatch,
} from '../helpers/gatewatch.js';
import type { PrivateRedis } from '../helpers/redis.js';
import { gatewatchSigned } from '../helpers/signed.js';

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

/** POST /webhooks/changes through the real HTTP server, signed unless told otherwise. */
describe('POST /webhooks/changes', () => {
  let redis: PrivateRedis;
  let gw: TestGatewatch;
  let store: ChangeEventStore;

  let world: GatewatchWorld;

  beforeAll(async () => {
    world = await startGatewatchWorld({ work: false, playbooks: [playbook({ service: 'checkout-api' })] });
    ({ redis, gw } = world);
    store = new ChangeEventStore(redis.client(), gw.prefix);
  });
  afterAll(() => world?.stop());

  async function send(
    body: string,
    opts: { signedAt?: number; secret?: string; headers?: Record<string, string>; unsigned?: boolean } = {},
  ): Promise<Answer> {
    const signed = opts.unsigned
      ? { 'content-type': 'application/json' }
      : gatewatchSigned(body, opts.signedAt, opts.secret);
    const res = await request(`${gw.baseUrl}/webhooks/changes`, {
      method: 'POST',
      body,
      headers: { ...signed, ...opts.headers },
    });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
  }

  it('records a signed deploy (202) and the changes check can read it back', async () => {
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 25 * 60_000).toISOString();
    const res = await send(
      JSON.stringify({
        service: 'checkout-api',
        kind: 'deploy',
        ref: 'v2.4.1',
        summary: 'checkout v2.4.1 to production',
        author: 'ci-bot',
        at,
      }),
    );
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ change: expect.stringMatching(/^chg_[0-9a-f]{16}$/), status: 'recorded' });
    const events = await store.recent('checkout-api', Date.parse(at) - 1000, Date.parse(at) + 1000);
    expect(events).toEqual([
      {
        service: 'checkout-api',
        kind: 'deploy',
        ref: 'v2.4.1',
        summary: 'checkout v2.4.1 to production',
        author: 'ci-bot',
        at,
      },
    ]);
  });

  it('stamps a change without "at" with the time it arrived, and a retry stays one event', async () => {
    const before = Date.now();
    const body = JSON.stringify({
      service: 'checkout-api',
      kind: 'config',
      ref: 'nginx@4f2a',
      summary: 'timeouts',
    });
    const res = await send(body);
    expect(res.status).toBe(202);
    const events = await store.recent('checkout-api', before - 1000, Date.now() + 1000);
    expect(events.filter((e) => e.ref === 'nginx@4f2a')).toHaveLength(1);
    expect(Date.parse(events.find((e) => e.ref === 'nginx@4f2a')!.at)).toBeGreaterThanOrEqual(before - 1000);

    const unix = Math.floor(Date.now() / 1000) - 600;
    const fixed = JSON.stringify({
      service: 'checkout-api',
      kind: 'config',
      ref: 'retry',
      summary: 's',
      at: unix,
    });
    const first = await send(fixed);
    const retry = await send(fixed);
    expect(first.status).toBe(202);
    expect(retry.json.change).toBe(first.json.change);
    const retried = await store.recent('checkout-api', unix * 1000, unix * 1000);
    expect(retried.map((e) => e.ref)).toEqual(['retry']);
  });

  it('401 for a wrong signature, a missing one and a stale timestamp', async () => {
    const body = JSON.stringify({ service: 'checkout-api', kind: 'deploy', ref: 'x', summary: 'y' });
    const wrong = await send(body, { secret: 'not-the-secret' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toMatch(/does not match/);
    const missing = await send(body, { unsigned: true });
    expect(missing.status).toBe(401);
    expect(missing.json.error).toMatch(/missing X-Gatewatch-Timestamp/);
    const stale = await send(body, { signedAt: Date.now() - 10 * 60_000 });
    expect(stale.status).toBe(401);
    expect(stale.json.error).toMatch(/five minutes/);
    expect(await store.recent('checkout-api', 0, Date.now() + 60_000)).not.toContainEqual(
      expect.objectContaining({ ref: 'x' }),
    );
  });

  it('400 for malformed JSON and for a body that is not a change', async () => {
    const broken = await send('{"service": "checkout-api",');
    expect(broken.status).toBe(400);
    expect(broken.json.error).toMatch(/malformed JSON/);
    const wrongKind = await send(
      JSON.stringify({ service: 'checkout-api', kind: 'rollback', ref: 'r', summary: 's' }),
    );
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.json.error).toMatch(/kind/);
    const noRef = await send(JSON.stringify({ service: 'checkout-api', kind: 'deploy', summary: 's' }));
    expect(noRef.status).toBe(400);
    expect(noRef.json.error).toMatch(/ref/);
    const badAt = await send(
      JSON.stringify({ service: 'checkout-api', kind: 'deploy', ref: 'r', summary: 's', at: 'yesterday' }),
    );
    expect(badAt.status).toBe(400);
  });

  it('415 for a content type other than JSON', async () => {
    const body = JSON.stringify({ service: 'checkout-api', kind: 'deploy', ref: 'x', summary: 'y' });
    const res = await send(body, { headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(415);
    expect(res.json.error).toMatch(/application\/json/);
  });

  it('200 ignored for a change older than the retention', async () => {
    const res = await send(
      JSON.stringify({
        service: 'checkout-api',
        kind: 'deploy',
        ref: 'ancient',
        summary: 's',
        at: '2020-01-01T00:00:00Z',
      }),
    );
    expect(res.status).toBe(200);
    expect(res.json.ignored).toMatch(/older than the retention/);
  });

  it('200 ignored for a service without a playbook', async () => {
    const res = await send(
      JSON.stringify({ service: 'unknown-svc', kind: 'deploy', ref: 'v1', summary: 's' }),
    );
    expect(res.status).toBe(200);
    expect(res.json.ignored).toMatch(/unknown-svc/);
    expect(await store.recent('unknown-svc', 0, Date.now() + 60_000)).toEqual([]);
  });
});
