import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { requireBinary } from './binaries.js';
import { freePort, waitFor } from './ports.js';

export interface PrivateRedis {
  port: number;
  url: string;
  dir: string;
  /** Kills the server (SIGKILL unless told otherwise). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory (with AOF, data comes back). */
  restart(): Promise<void>;
  client(): Redis;
  /** Kills the server and removes its directory. */
  destroy(): Promise<void>;
}

/** The arguments of a private redis-server: loopback only, no snapshots, everything in `dir`. */
export function redisServerArgs(port: number, dir: string, opts: { appendonly?: boolean } = {}): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    opts.appendonly ? 'yes' : 'no',
    '--dir',
    dir,
  ];
}

/** A redis-server of the test's own, on a free port in a temp dir; never someone else's Redis. */
export async function startRedis(
  opts: { appendonly?: boolean; args?: string[] } = {},
): Promise<PrivateRedis> {
  const bin = requireBinary('redis-server');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gw-redis-'));
  let proc: ChildProcess | undefined;
  const clients: Redis[] = [];
  const launch = async () => {
    proc = spawn(bin, [...redisServerArgs(port, dir, opts), ...(opts.args ?? [])], { stdio: 'ignore' });
    const probe = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    await waitFor(
      async () => {
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          probe.disconnect();
          return false;
        }
      },
      10_000,
      `redis-server on ${port}`,
    );
    probe.disconnect();
  };
  await launch();
  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    restart: launch,
    client() {
      const c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    async destroy() {
      for (const c of clients) c.disconnect();
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
