// Worlds where load and time decide: a slow upstream with idle CPU, a saturated
// one, a partially hot fleet, and two healthy ones. The apps are separate
// processes whose own CPU the load check scrapes.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startNginx } from '../helpers/nginx.js';
import { freePort, waitFor } from '../helpers/ports.js';
import {
  nginxProxyCheck as proxyCheck,
  proxyPass,
  saturationLoadCheck,
  nginxSite as site,
  upstreamBlock,
  upstreamCheck,
} from '../helpers/sites.js';
import { check, drive, gitRepo, scenarioSuite, startApp } from './world.js';

const { table, pb, later } = scenarioSuite('scenarios: load and health');

const DAY = 24 * 60;

describe('scenario worlds decided by load and time', () => {
  it('an upstream slower than the proxy timeout, CPU idle, after a deploy: upstream_timeout, the deploy is the trigger', async () => {
    const app = later(await startApp('slow', '1500'), (x) => x.stop());
    const repo = later(
      await gitRepo([
        {
          minutesAgo: 20,
          subject: 'Checkout 2.0: sync fraud check',
          files: { 'services/checkout/app.js': 'v2' },
        },
      ]),
      (r) => r.destroy(),
    );
    const nginx = later(await startNginx({ http: site(proxyPass(app.port)) }), (n) => n.stop());
    pb.write('slow', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([app.url], 1000),
      load: { scrape: [app.metricsUrl], sample_interval_ms: 500 },
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
    });
    const v = await check('slow', pb.dir);
    table.judge('slower than proxy timeout', v, {
      cause: 'upstream_timeout',
      recommendation: 'fix',
      trigger: repo.shas[0]!.slice(0, 12),
    });
  });

  it('an upstream that answers nothing, its own metrics included: unknown, saying it is busy or hung and how to tell', async () => {
    const app = later(await startApp('stuck'), (x) => x.stop());
    const nginx = later(await startNginx({ http: site(proxyPass(app.port)) }), (n) => n.stop());
    pb.write('stuck', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([app.url], 1000),
      load: { scrape: [app.metricsUrl], sample_interval_ms: 500, timeout_ms: 800 },
    });
    const v = await check('stuck', pb.dir);
    table.judge('stuck: even /metrics hangs', v, {
      cause: 'unknown',
      recommendation: 'investigate',
      trigger: null,
    });
    // The conflict is stated: too slow for the proxy, and no CPU figure to say busy or idle.
    expect(v.summary).toContain('did not answer its own metrics within 800 ms');
    expect(v.actions.join(' ')).toContain('thread dump');
  });

  it('a CPU-saturated upstream under traffic: upstream_saturated with capacity, a deploy in the window is no trigger', async () => {
    const app = later(await startApp('busy', '200'), (x) => x.stop());
    const repo = later(
      await gitRepo([
        { minutesAgo: 15, subject: 'Checkout 2.1', files: { 'services/checkout/app.js': 'v2.1' } },
      ]),
      (r) => r.destroy(),
    );
    const nginx = later(await startNginx({ http: site(proxyPass(app.port)) }), (n) => n.stop());
    const traffic = later(drive(app.url, 4), (t) => t.stop());
    await sleep(300);
    pb.write(
      'saturated',
      {
        proxy: proxyCheck(nginx),
        upstream: upstreamCheck([app.url], 600),
        // One event loop: a Node process saturates at one core; 0.6 leaves room for other work on a shared machine.
        load: saturationLoadCheck([app.metricsUrl]),
        changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
      },
      // A saturated Node process answers its /metrics behind the queued requests, as Prometheus would see it.
      { check_ms: 8000, total_ms: 12000 },
    );
    const v = await check('saturated', pb.dir);
    await traffic.stop();
    table.judge('CPU-saturated upstream', v, {
      cause: 'upstream_saturated',
      recommendation: 'scale-up',
      trigger: null,
    });
    expect(v.capacity).toMatchObject({ resource: 'cpu', instances: 1, target_utilisation: 0.45 });
    // One saturated event loop reads between the 60% threshold and a little over one core (GC threads):
    // 1 instance × 0.6..0.9 ÷ 0.45 rounds up to 2, × 0.9..1.35 to 3.
    expect([2, 3]).toContain(v.capacity!.suggested_instances);
    expect(v.actions[0]).toMatch(/^Scale out from 1 to \d+ instances/);
  });

  it('hard: a partially saturated fleet (one hot instance of three, no 502s): unknown / investigate, not scale-up', async () => {
    const apps = [
      later(await startApp('hot'), (x) => x.stop()),
      later(await startApp('ok'), (x) => x.stop()),
      later(await startApp('ok'), (x) => x.stop()),
    ];
    const nginx = later(
      await startNginx({
        http: site('proxy_pass http://checkout;', { upstreams: upstreamBlock(apps.map((a) => a.port)) }),
      }),
      (n) => n.stop(),
    );
    pb.write('hot-one', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck(apps.map((a) => a.url)),
      load: {
        scrape: apps.map((a) => a.metricsUrl),
        sample_interval_ms: 1000,
        thresholds: { cpu: 0.6, memory: 0.9 },
      },
    });
    const v = await check('hot-one', pb.dir);
    table.judge('hard: partially saturated fleet', v, {
      cause: 'unknown',
      recommendation: 'investigate',
      trigger: null,
    });
    expect(v.capacity).toBeNull();
    expect(v.actions[0]).toContain(`Inspect 127.0.0.1:${apps[0]!.port}`);
  });

  it('healthy after a transient: unknown while the log is fresh, recovered once it has been quiet for quiet_minutes', async () => {
    const port = await freePort();
    const nginx = later(await startNginx({ http: site(proxyPass(port)) }), (n) => n.stop());
    // The transient: the app is down for a few requests, which nginx logs as refused.
    for (let i = 0; i < 3; i++) await (await fetch(`${nginx.url}/healthz`)).arrayBuffer();
    const lastError = Date.now();
    const app = later(await startApp('ok', '', { port }), (x) => x.stop());
    const checks = {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([app.url]),
      load: { scrape: [app.metricsUrl], sample_interval_ms: 500 },
    };
    // Errors seconds ago and five good samples: one lucky moment, not a recovery.
    pb.write('transient-fresh', checks);
    const fresh = await check('transient-fresh', pb.dir);
    table.judge('refused seconds ago, serving now', fresh, {
      cause: 'unknown',
      recommendation: 'investigate',
      trigger: null,
    });
    // The same world once the log has been quiet for the playbook's quiet_minutes (3 s here).
    pb.write('transient', {
      ...checks,
      proxy: { ...checks.proxy, error_log: { ...checks.proxy.error_log, quiet_minutes: 0.05 } },
    });
    await waitFor(async () => Date.now() - lastError > 3500, 10_000, 'the log to be quiet for 3 s');
    const v = await check('transient', pb.dir);
    table.judge('healthy after a transient', v, {
      cause: 'recovered',
      recommendation: 'none',
      trigger: null,
    });
    expect(v.summary).toContain('transient');
  });

  it('healthy with an old unrelated change: recovered / none, no trigger', async () => {
    const app = later(await startApp('ok'), (x) => x.stop());
    const repo = later(
      await gitRepo([
        { minutesAgo: 2 * DAY, subject: 'Checkout 1.9', files: { 'services/checkout/app.js': 'v1.9' } },
        { minutesAgo: 10, subject: 'Docs: on-call notes', files: { 'docs/oncall.md': '# notes\n' } },
      ]),
      (r) => r.destroy(),
    );
    const nginx = later(await startNginx({ http: site(proxyPass(app.port)) }), (n) => n.stop());
    pb.write('healthy', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([app.url]),
      load: { scrape: [app.metricsUrl], sample_interval_ms: 500 },
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
    });
    const v = await check('healthy', pb.dir);
    table.judge('healthy, old unrelated change', v, {
      cause: 'recovered',
      recommendation: 'none',
      trigger: null,
    });
  });
});
