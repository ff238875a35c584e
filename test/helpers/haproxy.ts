import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { freePort, waitFor } from './ports.js';

const run = promisify(execFile);

export interface PrivateHaproxy {
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  /** Its `option httplog` lines, written as HAProxy logs them to stdout (`log stdout format raw`). */
  log: string;
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A private HAProxy in front of the given servers (`host:port` each), one HTTP
 * frontend on a free port, its request log in a file under a temp dir. Timeouts
 * are short so a world fails fast, as a tuned edge does.
 */
export async function startHaproxy(opts: {
  servers: readonly string[];
  serverOptions?: string;
  timeouts?: { connect?: string; server?: string };
}): Promise<PrivateHaproxy> {
  const bin = requireBinary('haproxy');
  const dir = mkdtempSync(join(tmpdir(), 'gw-haproxy-'));
  const port = await freePort();
  const conf = join(dir, 'haproxy.cfg');
  const log = join(dir, 'haproxy.log');
  writeFileSync(
    conf,
    `global
  log stdout format raw local0
  maxconn 256
defaults
  mode http
  log global
  option httplog
  timeout connect ${opts.timeouts?.connect ?? '1s'}
  timeout client 10s
  timeout server ${opts.timeouts?.server ?? '2s'}
frontend edge
  bind 127.0.0.1:${port}
  default_backend checkout
backend checkout
  balance roundrobin
${opts.servers.map((s, i) => `  server app${i + 1} ${s} ${opts.serverOptions ?? ''}`).join('\n')}
`,
  );
  try {
    await run(bin, ['-c', '-q', '-f', conf]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`haproxy -c rejected the config: ${(err as { stderr?: string }).stderr ?? err}`);
  }
  const out = openSync(log, 'a');
  const proc: ChildProcess = spawn(bin, ['-db', '-f', conf], { stdio: ['ignore', out, 'inherit'] });
  closeSync(out);
  await waitFor(async () => proc.exitCode !== null || (await accepts(port)), 10_000, `haproxy on ${port}`);
  if (proc.exitCode !== null) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`haproxy exited with ${proc.exitCode}`);
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    log,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null)
        await new Promise<void>((resolve) => {
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
          setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
        });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
