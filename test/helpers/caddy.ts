import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { accepts, stopDaemon } from './daemon.js';
import { freePort, waitFor } from './ports.js';

const run = promisify(execFile);

export interface PrivateCaddy {
  /** http://127.0.0.1:PORT: the site users go through. */
  url: string;
  /** http://127.0.0.1:ADMIN_PORT: the admin API (`/reverse_proxy/upstreams`, `/metrics`). */
  adminUrl: string;
  stop(): Promise<void>;
}

/**
 * A private Caddy 2 (Debian's) reverse-proxying to `upstreams` (host:port) with
 * passive health checks (`fail_duration`, `max_fails 1`), its admin API on its own
 * port, and HOME/XDG dirs in a temp dir: never the system's Caddy or :2019.
 */
export async function startCaddy(opts: { upstreams: string[] }): Promise<PrivateCaddy> {
  const bin = requireBinary('caddy');
  const dir = mkdtempSync(join(tmpdir(), 'gw-caddy-'));
  const conf = join(dir, 'Caddyfile');
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
  let proc: ChildProcess | undefined;
  let port = 0;
  let adminPort = 0;
  let output = '';

  const launch = async (): Promise<boolean> => {
    [port, adminPort] = [await freePort(), await freePort()];
    writeFileSync(
      conf,
      `{
\tadmin 127.0.0.1:${adminPort}
\tauto_https off
\tservers {
\t\tmetrics
\t}
}
http://127.0.0.1:${port} {
\treverse_proxy ${opts.upstreams.join(' ')} {
\t\tlb_policy round_robin
\t\tfail_duration 30s
\t\tmax_fails 1
\t}
}
`,
    );
    try {
      await run(bin, ['validate', '--config', conf, '--adapter', 'caddyfile'], { env });
    } catch (err) {
      throw new Error(`caddy validate rejected the config: ${(err as { stderr?: string }).stderr ?? err}`);
    }
    output = '';
    const p = spawn(bin, ['run', '--config', conf, '--adapter', 'caddyfile'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc = p;
    p.stderr?.on('data', (d) => {
      if (output.length < 20_000) output += String(d);
    });
    await waitFor(
      async () => p.exitCode !== null || ((await accepts(port)) && (await accepts(adminPort))),
      10_000,
      `caddy on ${port}/${adminPort}`,
    );
    return p.exitCode === null;
  };

  if (!(await launch()) && !(await launch())) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`caddy did not start: ${output.slice(-2000)}`);
  }

  return {
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    async stop() {
      await stopDaemon(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
