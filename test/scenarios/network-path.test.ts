// A proxy that cannot reach a healthy upstream: nginx runs in its own network
// namespace (its own host, as far as the network goes), joined to this one by a
// veth pair; the link on the proxy's side goes down. gatewatch, on the upstream's
// side, reaches the upstream at once. Needs root for `ip netns` (CI runs as root).
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { requireBinary } from '../helpers/binaries.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { check, scenarioSuite, startApp } from './world.js';

const run = promisify(execFile);
const { table, pb, later } = scenarioSuite('scenarios: network path');

/** A network namespace joined to this one by a veth pair on a private /30. */
async function namespace() {
  const ip = requireBinary('ip');
  const id = `gw${process.pid % 10000}${Math.floor(Math.random() * 100)}`;
  const net = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
  const sh = (...args: string[]) => run(ip, args);
  const inside = (...args: string[]) => run(ip, ['netns', 'exec', id, ...args]);
  try {
    await sh('netns', 'add', id);
  } catch (err) {
    throw new Error(
      `this world needs root for \`ip netns add\` (CI runs as root): ${(err as Error).message}`,
    );
  }
  await sh('link', 'add', `${id}a`, 'type', 'veth', 'peer', 'name', `${id}b`);
  await sh('link', 'set', `${id}b`, 'netns', id);
  await sh('addr', 'add', `${net}.1/30`, 'dev', `${id}a`);
  await sh('link', 'set', `${id}a`, 'up');
  await inside(ip, 'addr', 'add', `${net}.2/30`, 'dev', `${id}b`);
  await inside(ip, 'link', 'set', `${id}b`, 'up');
  await inside(ip, 'link', 'set', 'lo', 'up');
  return {
    id,
    ip,
    /** This side's address, where the upstream listens. */
    near: `${net}.1`,
    inside,
    /** The proxy's side of the path goes down. */
    cut: () => inside(ip, 'link', 'set', `${id}b`, 'down'),
    destroy: async () => {
      await sh('link', 'del', `${id}a`).catch(() => {});
      await sh('netns', 'del', id).catch(() => {});
    },
  };
}

describe('a broken path between proxy and upstream', () => {
  it('nginx in its own namespace loses its link; the upstream answers from here: network_path', async () => {
    const nginxBin = requireBinary('nginx');
    const ns = later(await namespace(), (n) => n.destroy());
    const app = later(await startApp('ok', '', { env: { HOST: ns.near } }), (x) => x.stop());
    const prefix = later(mkdtempSync(join(tmpdir(), 'gw-nginx-ns-')), (p) =>
      rmSync(p, { recursive: true, force: true }),
    );
    chmodSync(prefix, 0o755);
    mkdirSync(join(prefix, 'logs'));
    const port = await freePort();
    const errorLog = join(prefix, 'logs', 'error.log');
    writeFileSync(
      join(prefix, 'nginx.conf'),
      `daemon off; worker_processes 1; pid ${prefix}/nginx.pid; error_log ${errorLog} error;
events { worker_connections 64; }
http { access_log off; client_body_temp_path ${prefix}/cb; proxy_temp_path ${prefix}/pt;
  server { listen 127.0.0.1:${port}; location / { proxy_connect_timeout 1s; proxy_pass http://${ns.near}:${app.port}; } } }
`,
    );
    const nginx = spawn(
      requireBinary('ip'),
      ['netns', 'exec', ns.id, nginxBin, '-p', prefix, '-c', `${prefix}/nginx.conf`, '-e', errorLog],
      {
        stdio: 'ignore',
      },
    );
    // SIGTERM: the master takes its workers down with it (a SIGKILL would orphan them).
    later(
      nginx,
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGTERM');
        }),
    );
    await waitFor(() => existsSync(`${prefix}/nginx.pid`), 10_000, 'nginx in the namespace');
    // Users inside the proxy's network: a request that works, then the link goes down.
    const request = async () =>
      (
        await ns.inside(
          process.execPath,
          '-e',
          `fetch('http://127.0.0.1:${port}/healthz').then((r) => console.log(r.status), () => console.log(0))`,
        )
      ).stdout.trim();
    await waitFor(async () => (await request()) === '200', 10_000, 'nginx to serve through the path');
    await ns.cut();
    const statuses = [await request(), await request(), await request()];
    expect(statuses).toEqual(['502', '502', '502']);
    await waitFor(
      () => (readFileSync(errorLog, 'utf8').match(/\(101: /g)?.length ?? 0) >= 3,
      10_000,
      'three unreachable lines',
    );
    pb.write('path-down', {
      proxy: { error_log: { path: errorLog, format: 'nginx' } },
      upstream: { targets: [`http://${ns.near}:${app.port}/healthz`], probes: 2, timeout_ms: 800 },
    });
    const v = await check('path-down', pb.dir);
    table.judge('link down between proxy and upstream', v, {
      cause: 'network_path',
      recommendation: 'fix',
      trigger: null,
    });
    expect(v.summary).toContain(`${ns.near}:${app.port}`);
  });
});
