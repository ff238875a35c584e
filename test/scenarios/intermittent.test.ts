// Worlds where the few samples of a check can look healthy although users get
// 502s, or where a healthy-looking probe is no proof: the verdict must come from
// what the proxy's log shows, or say that the evidence conflicts.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startNginx } from '../helpers/nginx.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { nginxProxyCheck, nginxSite, proxyPass, upstreamCheck } from '../helpers/sites.js';
import { check, drive, scenarioSuite, startApp, startService } from './world.js';

const { table, pb, later } = scenarioSuite('scenarios: intermittent and misleading');

// These worlds give nginx 2 s to read and the proxy check 3 s per sample.
const site = (location: string) => nginxSite(location, { readTimeout: '2s' });
const proxyCheck = (nginx: { url: string; errorLog: string }) => nginxProxyCheck(nginx, { timeoutMs: 3000 });

describe('no confident wrong call when samples look healthy', () => {
  it('a process crash-looping under a supervisor, answering again when checked: upstream_crash, not recovered', async () => {
    const port = await freePort();
    const script = fileURLToPath(new URL('./supervise.mjs', import.meta.url));
    const supervisor = later(
      await startService(process.execPath, [script, 'crash', '40'], { PORT: String(port) }, 'crash loop'),
      (s) => s.stop(),
    );
    const nginx = later(await startNginx({ http: site(proxyPass(port)) }), (n) => n.stop());
    const traffic = later(drive(`${nginx.url}/healthz`, 2), (t) => t.stop());
    await waitFor(() => supervisor.events.length >= 2, 20_000, 'two crashes and restarts');
    await traffic.stop();
    // Judged between crashes: the fresh process answers the few samples and probes.
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok,
      10_000,
      'the restarted process to answer',
    );
    pb.write('crash-loop', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([`http://127.0.0.1:${port}/healthz`]),
    });
    const v = await check('crash-loop', pb.dir);
    table.judge('crash loop, fine when sampled', v, {
      cause: 'upstream_crash',
      recommendation: 'fix',
      trigger: null,
    });
  });

  it("health answered on the app's management port while its serving port is down: unknown, the conflict stated", async () => {
    const management = later(await startApp('ok'), (x) => x.stop());
    const serving = await freePort();
    const nginx = later(await startNginx({ http: site(proxyPass(serving)) }), (n) => n.stop());
    pb.write('health-port', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([management.url]),
    });
    const v = await check('health-port', pb.dir);
    table.judge('health on another port', v, {
      cause: 'unknown',
      recommendation: 'investigate',
      trigger: null,
    });
    expect(v.summary).toContain(`127.0.0.1:${serving}`);
    expect(v.confidence).toBeLessThanOrEqual(0.5);
  });

  it('one stray log line naming a service IP, the site fine: no proxy_misrouted', async () => {
    const app = later(await startApp('ok'), (x) => x.stop());
    const stray = await freePort();
    const nginx = later(
      await startNginx({
        http: ({ port }) =>
          `server { listen 127.0.0.1:${port}; proxy_connect_timeout 1s; location /old { proxy_pass http://127.0.0.2:${stray}; } location / { proxy_pass http://127.0.0.1:${app.port}; } }`,
      }),
      (n) => n.stop(),
    );
    const res = await fetch(`${nginx.url}/old/report`);
    expect(res.status).toBe(502);
    pb.write('stray-line', {
      proxy: proxyCheck(nginx),
      upstream: upstreamCheck([app.url]),
    });
    const v = await check('stray-line', pb.dir);
    table.judge('one stray line', v, { cause: 'unknown', recommendation: 'investigate', trigger: null });
  });
});
