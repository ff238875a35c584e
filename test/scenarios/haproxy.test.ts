// Worlds fronted by HAProxy instead of nginx: its request log and termination
// states (SC--, SH--) are the proxy's evidence, and a fleet of three instances
// behind it is judged for capacity.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startHaproxy } from '../helpers/haproxy.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { haproxyProxyCheck as proxyCheck, saturationLoadCheck, upstreamCheck } from '../helpers/sites.js';
import { resettingUpstream } from '../helpers/upstreams.js';
import { check, drive, scenarioSuite, startApp } from './world.js';

const { table, pb, later } = scenarioSuite('scenarios: HAProxy');

async function logged(path: string, state: RegExp): Promise<void> {
  await waitFor(() => state.test(readFileSync(path, 'utf8')), 10_000, `HAProxy to log ${state}`);
}

describe('HAProxy-fronted worlds', () => {
  it('its only server refuses (SC--, HAProxy answers 503): upstream_down', async () => {
    const port = await freePort();
    const haproxy = later(
      await startHaproxy({ servers: [{ name: 'app1', address: `127.0.0.1:${port}`, options: '' }] }),
      (h) => h.stop(),
    );
    await fetch(`${haproxy.url}/healthz`).then((r) => r.arrayBuffer());
    await logged(haproxy.trafficLog, / SC-- /);
    pb.write('ha-down', {
      proxy: proxyCheck(haproxy),
      upstream: upstreamCheck([`http://127.0.0.1:${port}/healthz`]),
    });
    const v = await check('ha-down', pb.dir);
    table.judge('HAProxy: server refuses (SC--)', v, {
      cause: 'upstream_down',
      recommendation: 'fix',
      trigger: null,
    });
  });

  it('its server resets every request (SH--): upstream_crash', async () => {
    const app = later(await resettingUpstream(), (a) => a.close());
    const haproxy = later(
      await startHaproxy({ servers: [{ name: 'app1', address: `127.0.0.1:${app.port}`, options: '' }] }),
      (h) => h.stop(),
    );
    await fetch(`${haproxy.url}/healthz`).then((r) => r.arrayBuffer());
    await logged(haproxy.trafficLog, / SH-- /);
    pb.write('ha-reset', {
      proxy: proxyCheck(haproxy),
      upstream: upstreamCheck([app.url]),
    });
    const v = await check('ha-reset', pb.dir);
    table.judge('HAProxy: server resets (SH--)', v, {
      cause: 'upstream_crash',
      recommendation: 'fix',
      trigger: null,
    });
  });

  it('a fleet of three CPU-bound instances under traffic: upstream_saturated, capacity for 3 instances', async () => {
    const apps = [
      later(await startApp('busy', '150'), (x) => x.stop()),
      later(await startApp('busy', '150'), (x) => x.stop()),
      later(await startApp('busy', '150'), (x) => x.stop()),
    ];
    const haproxy = later(
      await startHaproxy({
        servers: apps.map((a, i) => ({ name: `app${i + 1}`, address: `127.0.0.1:${a.port}`, options: '' })),
      }),
      (h) => h.stop(),
    );
    const traffic = later(drive(`${haproxy.url}/healthz`, 9), (t) => t.stop());
    await logged(haproxy.trafficLog, / 200 /);
    pb.write(
      'ha-fleet',
      {
        proxy: proxyCheck(haproxy),
        upstream: upstreamCheck(
          apps.map((a) => a.url),
          600,
        ),
        load: saturationLoadCheck(apps.map((a) => a.metricsUrl)),
      },
      { check_ms: 8000, total_ms: 12000 },
    );
    const v = await check('ha-fleet', pb.dir);
    await traffic.stop();
    table.judge('HAProxy: fleet of three saturated', v, {
      cause: 'upstream_saturated',
      recommendation: 'scale-up',
      trigger: null,
    });
    expect(v.capacity).toMatchObject({ resource: 'cpu', instances: 3, target_utilisation: 0.45 });
    // Three instances over the 60% threshold need at least 3 × 0.6 ÷ 0.45 = 4.
    expect(v.capacity!.suggested_instances).toBeGreaterThanOrEqual(4);
  });
});
