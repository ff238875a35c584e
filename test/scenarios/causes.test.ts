import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requireBinary } from '../helpers/binaries.js';
import { startNginx } from '../helpers/nginx.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { nginxProxyCheck, nginxSite, proxyPass, upstreamCheck } from '../helpers/sites.js';
import { makePki } from '../helpers/tls.js';
import { check, drive, gitRepo, scenarioSuite, startApp, startService } from './world.js';

const { table, pb, later } = scenarioSuite('scenarios: causes added 2026-11-28');

// These worlds give nginx 2 s to read and the proxy check 3 s per sample.
const site = (location: string, upstreams = '') => nginxSite(location, { readTimeout: '2s', upstreams });
const proxyCheck = (nginx: { url: string; errorLog: string }, extra: Record<string, unknown> = {}) =>
  nginxProxyCheck(nginx, { timeoutMs: 3000, extra });

/** The log lines matching `re`, once there are at least `n` of them. */
async function logLines(path: string, re: RegExp, n = 1): Promise<string[]> {
  return waitFor(
    () => {
      const lines = readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => re.test(l));
      return lines.length >= n ? lines : null;
    },
    15_000,
    `${n} log lines matching ${re}`,
  );
}

async function send(url: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status;
}

describe('worlds of the new causes', () => {
  it('an app whose cookies outgrow the proxy buffer: response_rejected, naming proxy_buffer_size', async () => {
    const app = later(await startApp('bigheader', '12000'), (x) => x.stop());
    const nginx = later(await startNginx({ http: site(proxyPass(app.port)) }), (n) => n.stop());
    pb.write('fat-cookie', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([app.url]),
    });
    const v = await check('fat-cookie', pb.dir);
    table.judge('headers over the proxy buffer', v, {
      cause: 'response_rejected',
      recommendation: 'fix',
      trigger: null,
    });
    expect(v.actions[0]).toContain('proxy_buffer_size 16k');
  });

  it('an HTTPS upstream whose certificate names another host: upstream_tls', async () => {
    const dir = later(mkdtempSync(join(tmpdir(), 'gw-tls-world-')), (d) => rmSync(d, { recursive: true }));
    const pki = makePki(dir, 'DNS:other.test');
    const app = later(await startApp('tls', '', { env: { TLS_KEY: pki.key, TLS_CERT: pki.cert } }), (x) =>
      x.stop(),
    );
    const nginx = later(
      await startNginx({
        http: site(
          `proxy_pass https://127.0.0.1:${app.port}; proxy_ssl_verify on; proxy_ssl_trusted_certificate ${pki.ca}; proxy_ssl_name checkout.internal; proxy_ssl_server_name on;`,
        ),
      }),
      (n) => n.stop(),
    );
    pb.write('wrong-cert', {
      proxy: proxyCheck(nginx),
      upstream: {
        targets: [`https://127.0.0.1:${app.port}/healthz`],
        probes: 2,
        timeout_ms: 800,
        ca_file: pki.ca,
      },
    });
    const v = await check('wrong-cert', pb.dir);
    table.judge('certificate for another name', v, {
      cause: 'upstream_tls',
      recommendation: 'fix',
      trigger: null,
    });
    expect(v.actions[0]).toContain('proxy_ssl_name');
  });

  it('an upstream keep-alive timeout shorter than nginx reuses connections for: upstream_keepalive, though GET samples succeed', async () => {
    const app = later(await startApp('1', '', { script: './keepalive-app.mjs' }), (x) => x.stop());
    const nginx = later(
      await startNginx({
        http: site(
          'proxy_pass http://checkout; proxy_http_version 1.1; proxy_set_header Connection "";',
          `upstream checkout { server 127.0.0.1:${app.port}; keepalive 8; keepalive_timeout 60s; }`,
        ),
      }),
      (n) => n.stop(),
    );
    // Traffic with pauses longer than the upstream's 1 s: every reused connection races its close.
    // POSTs are not retried by nginx, so users see 502s; GETs are retried on a fresh connection.
    const statuses: number[] = [];
    for (let round = 0; round < 3; round++) {
      statuses.push(
        ...(await Promise.all(
          [1, 2, 3].map(() => send(`${nginx.url}/orders`, { method: 'POST', body: 'x' })),
        )),
      );
      await new Promise((r) => setTimeout(r, 1300));
    }
    expect(statuses).toContain(502);
    await logLines(nginx.errorLog, /upstream prematurely closed connection/, 2);
    pb.write('keepalive', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([`http://127.0.0.1:${app.port}/healthz`]),
    });
    const v = await check('keepalive', pb.dir);
    table.judge('keep-alive race, GET samples all good', v, {
      cause: 'upstream_keepalive',
      recommendation: 'fix',
      trigger: null,
    });
    expect(v.summary).toContain('after 1 s');
    // Sampled with POSTs, as the failing requests are, the 502s show now too.
    await new Promise((r) => setTimeout(r, 1300));
    pb.write('keepalive-post', {
      proxy: proxyCheck(nginx, {
        method: 'POST',
        body: '{"order":1}',
        headers: { 'content-type': 'application/json' },
      }),
      upstream: upstreamCheck([`http://127.0.0.1:${app.port}/healthz`]),
    });
    const post = await check('keepalive-post', pb.dir);
    table.judge('keep-alive race, POST samples', post, {
      cause: 'upstream_keepalive',
      recommendation: 'fix',
      trigger: null,
    });
    const sampled = post.checks.find((c) => c.name === 'proxy')!.evidence[0] as {
      method?: string;
      gateway_errors: number;
    };
    expect(sampled.method).toBe('POST');
    expect(sampled.gateway_errors).toBeGreaterThan(0);
  });

  it('a php-fpm-like pool on a unix socket, every worker waiting, CPU idle: worker_pool_exhausted', async () => {
    const python = requireBinary('python3');
    const dir = later(mkdtempSync(join(tmpdir(), 'gw-pool-')), (d) =>
      rmSync(d, { recursive: true, force: true }),
    );
    // nginx's workers run as nobody: they must reach the socket.
    chmodSync(dir, 0o755);
    const socket = join(dir, 'app.sock');
    const script = fileURLToPath(new URL('./pool-app.py', import.meta.url));
    later(await startService(python, [script, socket, '2', '3'], {}, 'pool-app'), (s) => s.stop());
    const nginx = later(await startNginx({ http: site(`proxy_pass http://unix:${socket}:;`) }), (n) =>
      n.stop(),
    );
    // More requests at once than two workers and a backlog of one can hold.
    const traffic = later(drive(`${nginx.url}/healthz`, 8), (t) => t.stop());
    await logLines(nginx.errorLog, /\(11: Resource temporarily unavailable\)/, 3);
    pb.write('pool-full', {
      proxy: proxyCheck(nginx),
      upstream: { targets: [`unix:${socket}`], probes: 3, timeout_ms: 800 },
    });
    const v = await check('pool-full', pb.dir);
    await traffic.stop();
    table.judge('worker pool full (unix socket)', v, {
      cause: 'worker_pool_exhausted',
      recommendation: 'fix',
      trigger: null,
    });
    expect(v.actions.join(' ')).toContain('pm.max_children');
  });

  it('a deploy that restarts the app without draining: deploy_drain, that deploy is the trigger', async () => {
    const port = await freePort();
    const repo = later(
      await gitRepo([
        { minutesAgo: 3 * 24 * 60, subject: 'Checkout 2.0', files: { 'services/checkout/app.js': 'v2.0' } },
        {
          minutesAgo: 1,
          subject: 'Checkout 2.1',
          author: 'Bo Dev',
          files: { 'services/checkout/app.js': 'v2.1' },
        },
      ]),
      (r) => r.destroy(),
    );
    let app = await startApp('ok', '', { port });
    later(null, () => app.stop());
    const nginx = later(await startNginx({ http: site(proxyPass(port)) }), (n) => n.stop());
    const traffic = later(drive(`${nginx.url}/healthz`, 4), (t) => t.stop());
    // The rollout: the old instance is killed under traffic, the new one starts a moment later.
    await app.stop();
    await logLines(nginx.errorLog, /\(111: Connection refused\)/, 3);
    app = await startApp('ok', '', { port });
    await traffic.stop();
    pb.write('no-drain', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([app.url]),
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
    });
    const v = await check('no-drain', pb.dir);
    table.judge('restart without drain', v, {
      cause: 'deploy_drain',
      recommendation: 'fix',
      trigger: repo.shas[1]!.slice(0, 12),
    });
  });

  it('a leak that gets the app killed at its memory limit, again and again: memory_leak, the deploy is the trigger', async () => {
    const port = await freePort();
    const repo = later(
      await gitRepo([
        {
          minutesAgo: 20,
          subject: 'Cache sessions in memory',
          files: { 'services/checkout/app.js': 'v2.2' },
        },
      ]),
      (r) => r.destroy(),
    );
    const script = fileURLToPath(new URL('./supervise.mjs', import.meta.url));
    const supervisor = later(
      await startService(
        process.execPath,
        [script, 'leak', '160'],
        { PORT: String(port) },
        'supervised leak',
      ),
      (s) => s.stop(),
    );
    const nginx = later(await startNginx({ http: site(proxyPass(port)) }), (n) => n.stop());
    const traffic = later(drive(`${nginx.url}/healthz`, 2), (t) => t.stop());
    // Judge right after a restart, as on-call would meet it: the next one is seconds away.
    const seen = supervisor.events.length;
    await waitFor(() => supervisor.events.length > seen, 30_000, 'the app to be killed and restarted');
    pb.write('leak', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([`http://127.0.0.1:${port}/healthz`]),
      load: {
        scrape: [`http://127.0.0.1:${port}/metrics`],
        sample_interval_ms: 1000,
        memory_limit_bytes: 160 * 1024 * 1024,
      },
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
    });
    const v = await check('leak', pb.dir);
    await traffic.stop();
    table.judge('memory leak, killed at the limit', v, {
      cause: 'memory_leak',
      recommendation: 'fix',
      trigger: repo.shas[0]!.slice(0, 12),
    });
  });
});
