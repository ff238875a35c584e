// Worlds whose 502s need a fix: each built for real on loopback (nginx in front
// of real processes, a git repo of the proxy config) and judged by
// `gatewatch check --json` in its own process.
import { describe, it } from 'vitest';
import { startNginx } from '../helpers/nginx.js';
import { startNxdomainDns } from '../helpers/nxdomain-dns.js';
import { freePort } from '../helpers/ports.js';
import {
  nginxProxyCheck as proxyCheck,
  nginxSite as site,
  upstreamBlock,
  upstreamCheck,
} from '../helpers/sites.js';
import { resettingUpstream } from '../helpers/upstreams.js';
import { check, gitRepo, scenarioSuite, startApp } from './world.js';

const { table, pb, later } = scenarioSuite('scenarios: fix');

const HOUR = 60;
const DAY = 24 * HOUR;

const appConf = (port: number) => `proxy_pass http://127.0.0.1:${port};\n`;

describe('scenario worlds that need a fix', () => {
  it('a closed port: upstream_down, no trigger (the only change is days old)', async () => {
    const port = await freePort();
    const repo = later(
      await gitRepo([
        {
          minutesAgo: 3 * DAY,
          subject: 'Checkout on its own port',
          files: { 'nginx/checkout.conf': appConf(port) },
        },
      ]),
      (r) => r.destroy(),
    );
    const nginx = later(await startNginx({ http: site(appConf(port)) }), (n) => n.stop());
    pb.write('closed-port', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([`http://127.0.0.1:${port}/healthz`]),
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
    });
    const v = await check('closed-port', pb.dir);
    table.judge('closed port', v, { cause: 'upstream_down', recommendation: 'fix', trigger: null });
  });

  it('one of three upstreams dead: upstream_partial naming the dead one', async () => {
    const a = later(await startApp('ok'), (x) => x.stop());
    const b = later(await startApp('ok'), (x) => x.stop());
    const dead = await freePort();
    const nginx = later(
      await startNginx({
        http: site('proxy_pass http://checkout;', { upstreams: upstreamBlock([a.port, dead, b.port]) }),
      }),
      (n) => n.stop(),
    );
    pb.write('one-dead', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([a.url, `http://127.0.0.1:${dead}/healthz`, b.url]),
    });
    const v = await check('one-dead', pb.dir);
    table.judge('one of three dead', v, { cause: 'upstream_partial', recommendation: 'fix', trigger: null });
    if (!v.actions[0]?.includes(`127.0.0.1:${dead}`))
      throw new Error(`first action does not name the dead target: ${v.actions[0]}`);
  });

  it('proxy_pass moved to a wrong port by a recent commit: proxy_misrouted, that commit is the trigger', async () => {
    const app = later(await startApp('ok'), (x) => x.stop());
    const wrong = await freePort();
    const repo = later(
      await gitRepo([
        {
          minutesAgo: 5 * DAY,
          subject: 'Checkout behind the edge',
          files: { 'nginx/checkout.conf': appConf(app.port) },
        },
        {
          minutesAgo: 12,
          subject: 'Move checkout to the new port',
          author: 'Bo Dev',
          files: { 'nginx/checkout.conf': appConf(wrong) },
        },
      ]),
      (r) => r.destroy(),
    );
    const nginx = later(await startNginx({ http: site(`include ${repo.dir}/nginx/checkout.conf;`) }), (n) =>
      n.stop(),
    );
    pb.write('misrouted', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([app.url]),
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: ['nginx/'] } },
    });
    const v = await check('misrouted', pb.dir);
    table.judge('proxy_pass to a wrong port', v, {
      cause: 'proxy_misrouted',
      recommendation: 'fix',
      trigger: repo.shas[1]!.slice(0, 12),
    });
    if (!v.summary.includes(`127.0.0.1:${wrong}`))
      throw new Error(`summary does not name the wrong port: ${v.summary}`);
  });

  it('an unresolvable upstream name, introduced by a config commit: dns_failure', async () => {
    const app = later(await startApp('ok'), (x) => x.stop());
    const dns = later(await startNxdomainDns(), (d) => d.close());
    const named = (host: string) =>
      `resolver 127.0.0.1:${dns.port} valid=1s ipv6=off; resolver_timeout 1s;\nset $backend "${host}:${app.port}";\nproxy_pass http://$backend;\n`;
    const repo = later(
      await gitRepo([
        {
          minutesAgo: 2 * DAY,
          subject: 'Checkout by address',
          files: { 'nginx/checkout.conf': appConf(app.port) },
        },
        {
          minutesAgo: 7,
          subject: 'Use the service name for checkout',
          files: { 'nginx/checkout.conf': named('checkout.invalid') },
        },
      ]),
      (r) => r.destroy(),
    );
    const nginx = later(await startNginx({ http: site(`include ${repo.dir}/nginx/checkout.conf;`) }), (n) =>
      n.stop(),
    );
    pb.write('unresolvable', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([`http://checkout.invalid:${app.port}/healthz`]),
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
    });
    const v = await check('unresolvable', pb.dir);
    table.judge('unresolvable name', v, {
      cause: 'dns_failure',
      recommendation: 'fix',
      trigger: repo.shas[1]!.slice(0, 12),
    });
  });

  it('an upstream resetting connections after a recent deploy: upstream_crash, the deploy is the trigger', async () => {
    const up = later(await resettingUpstream(), (u) => u.close());
    const repo = later(
      await gitRepo([
        { minutesAgo: 3 * DAY, subject: 'Checkout 1.4.0', files: { 'services/checkout/app.js': 'v1.4.0' } },
        {
          minutesAgo: 9,
          subject: 'Checkout 1.5.0: new payment client',
          author: 'Cy Dev',
          files: { 'services/checkout/app.js': 'v1.5.0' },
        },
      ]),
      (r) => r.destroy(),
    );
    const nginx = later(await startNginx({ http: site(appConf(up.port)) }), (n) => n.stop());
    pb.write('resetting', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([up.url]),
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
    });
    const v = await check('resetting', pb.dir);
    table.judge('resets after a deploy', v, {
      cause: 'upstream_crash',
      recommendation: 'fix',
      trigger: repo.shas[1]!.slice(0, 12),
    });
    if (
      !v.actions[0]?.startsWith(
        `Roll back deploy ${repo.shas[1]!.slice(0, 12)} (Checkout 1.5.0: new payment client, by Cy Dev,`,
      )
    )
      throw new Error(`first action is not the rollback: ${v.actions[0]}`);
  });

  it('hard: a red-herring proxy config change while the app resets: upstream_crash, no trigger', async () => {
    const up = later(await resettingUpstream(), (u) => u.close());
    const repo = later(
      await gitRepo([
        { minutesAgo: 3 * HOUR, subject: 'Checkout 1.5.0', files: { 'services/checkout/app.js': 'v1.5.0' } },
        {
          minutesAgo: 6,
          subject: 'Raise client_max_body_size',
          files: { 'nginx/checkout.conf': `client_max_body_size 2m;\n${appConf(up.port)}` },
        },
        {
          minutesAgo: 4,
          subject: 'Runbook: how to read the dashboards',
          files: { 'docs/runbook.md': '# Runbook\n' },
        },
      ]),
      (r) => r.destroy(),
    );
    const nginx = later(await startNginx({ http: site(`include ${repo.dir}/nginx/checkout.conf;`) }), (n) =>
      n.stop(),
    );
    pb.write('red-herring', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([up.url]),
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
    });
    const v = await check('red-herring', pb.dir);
    table.judge('hard: red-herring change', v, {
      cause: 'upstream_crash',
      recommendation: 'fix',
      trigger: null,
    });
  });

  it('hard: misrouted with a newer deploy in the window: the config commit is the trigger, not the newest change', async () => {
    const app = later(await startApp('ok'), (x) => x.stop());
    const wrong = await freePort();
    const repo = later(
      await gitRepo([
        {
          minutesAgo: 4 * DAY,
          subject: 'Checkout behind the edge',
          files: { 'nginx/checkout.conf': appConf(app.port) },
        },
        {
          minutesAgo: 25,
          subject: 'Point checkout at the canary port',
          files: { 'nginx/checkout.conf': appConf(wrong) },
        },
        { minutesAgo: 3, subject: 'Checkout 1.6.0', files: { 'services/checkout/app.js': 'v1.6.0' } },
      ]),
      (r) => r.destroy(),
    );
    const nginx = later(await startNginx({ http: site(`include ${repo.dir}/nginx/checkout.conf;`) }), (n) =>
      n.stop(),
    );
    pb.write('misrouted-2', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([app.url]),
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
    });
    const v = await check('misrouted-2', pb.dir);
    table.judge('hard: fitting change not newest', v, {
      cause: 'proxy_misrouted',
      recommendation: 'fix',
      trigger: repo.shas[1]!.slice(0, 12),
    });
  });

  it('hard: mixed signals, every listed target refuses yet the proxy serves 200: unknown / investigate', async () => {
    const app = later(await startApp('ok'), (x) => x.stop());
    const stale = await freePort();
    const nginx = later(await startNginx({ http: site(appConf(app.port)) }), (n) => n.stop());
    pb.write('mixed', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([`http://127.0.0.1:${stale}/healthz`]),
    });
    const v = await check('mixed', pb.dir);
    table.judge('hard: mixed signals', v, { cause: 'unknown', recommendation: 'investigate', trigger: null });
  });
});
