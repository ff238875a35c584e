import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FaultWorld,
  type GatewatchProcess,
  pagerdutyTriggered,
  sendPagerDuty,
  startFaultWorld,
  uniqueNames,
} from '../helpers/gatewatch-process.js';
import { waitFor } from '../helpers/ports.js';
import type { PrivateRedis } from '../helpers/redis.js';
import { refusingUpstream } from '../helpers/upstreams.js';

async function readyz(baseUrl: string): Promise<number> {
  const res = await request(`${baseUrl}/readyz`, { headersTimeout: 5000 });
  await res.body.dump();
  return res.statusCode;
}

describe('Redis unreachable while gatewatch serves', () => {
  let redis: PrivateRedis;
  let pb: { dir: string; remove(): void };
  let serve: GatewatchProcess | undefined;
  let world: FaultWorld;

  beforeAll(async () => {
    world = await startFaultWorld();
    redis = world.redis;
    pb = world.playbooks([(await refusingUpstream()).url], 1000);
  });

  afterAll(() => world?.stop());

  it('answers 503 at once, says so on /readyz, and recovers without a restart', async () => {
    const names = uniqueNames();
    serve = await world.spawn('serve', world.env(names, pb));
    expect(await readyz(serve.baseUrl)).toBe(200);
    expect((await sendPagerDuty(serve.baseUrl, pagerdutyTriggered(names.incident))).status).toBe(202);

    await redis.stop('SIGKILL');
    const t0 = performance.now();
    const during = await sendPagerDuty(serve.baseUrl, pagerdutyTriggered(`${names.incident}X`));
    const elapsed = performance.now() - t0;
    expect(during.status).toBe(503);
    expect(during.body).toHaveProperty('error');
    // The contract: a sender is told to retry quickly, never left hanging.
    expect(elapsed).toBeLessThan(2500);
    expect(await readyz(serve.baseUrl)).toBe(503);
    // Liveness is not readiness: the process itself is fine and must not be restarted.
    const health = await request(`${serve.baseUrl}/healthz`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();

    await redis.restart();
    await waitFor(async () => (await readyz(serve!.baseUrl)) === 200, 20_000, '/readyz to recover');
    const after = await waitFor(
      async () => {
        const r = await sendPagerDuty(serve!.baseUrl, pagerdutyTriggered(`${names.incident}Y`));
        return r.status === 202 ? r : null;
      },
      10_000,
      'webhooks to be accepted again',
    );
    expect(after.body).toMatchObject({ status: 'queued' });
    expect(serve.proc.exitCode).toBeNull();
    expect(serve.proc.signalCode).toBeNull();
  });
});
