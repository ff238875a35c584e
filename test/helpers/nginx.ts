import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { accepts } from './daemon.js';
import { freePort, waitFor } from './ports.js';

const run = promisify(execFile);

/** What a config body may refer to: the port to listen on and the private prefix. */
export interface NginxEnv {
  port: number;
  prefix: string;
}

/** The inside of `http {}`: the caller's `upstream {}` and `server {}` blocks (listen on env.port). */
export type NginxHttpBlocks = string | ((env: NginxEnv) => string);

export interface PrivateNginx {
  port: number;
  prefix: string;
  /** http://127.0.0.1:PORT */
  url: string;
  errorLog: string;
  accessLog: string;
  /** Swaps in new blocks (checked with `nginx -t` first) and waits until new workers serve them. */
  reload(http: NginxHttpBlocks): Promise<void>;
  /** Stops nginx and removes its prefix. */
  stop(): Promise<void>;
}

function mainConfig(env: NginxEnv, http: NginxHttpBlocks, level: string): string {
  const p = env.prefix;
  const body = typeof http === 'function' ? http(env) : http;
  return `daemon off;
worker_processes 1;
pid ${p}/nginx.pid;
error_log ${p}/logs/error.log ${level};
events { worker_connections 128; }
http {
  access_log ${p}/logs/access.log;
  client_body_temp_path ${p}/temp/client_body;
  proxy_temp_path ${p}/temp/proxy;
  fastcgi_temp_path ${p}/temp/fastcgi;
  uwsgi_temp_path ${p}/temp/uwsgi;
  scgi_temp_path ${p}/temp/scgi;
${body}
}
`;
}

function workerPids(master: number): string {
  try {
    return readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * A private nginx on a free port with everything (pid, logs, temp paths) under a
 * temp prefix: never the system's nginx or its /var/log. `-e` makes nginx log its
 * start-up errors there too, before it has read the config.
 */
export async function startNginx(opts: {
  http: NginxHttpBlocks;
  errorLogLevel?: string;
  /** nginx's environment: `TZ` sets the zone its logs are stamped in (nginx keeps TZ for its workers). */
  env?: NodeJS.ProcessEnv;
}): Promise<PrivateNginx> {
  const bin = requireBinary('nginx');
  const level = opts.errorLogLevel ?? 'error';
  const prefix = mkdtempSync(join(tmpdir(), 'gw-nginx-'));
  // nginx drops its workers to `nobody` when started as root; they must reach the temp paths.
  chmodSync(prefix, 0o755);
  mkdirSync(join(prefix, 'logs'));
  mkdirSync(join(prefix, 'temp'));
  const conf = join(prefix, 'nginx.conf');
  const errorLog = join(prefix, 'logs', 'error.log');
  const flags = ['-p', prefix, '-c', conf, '-e', errorLog];
  let proc: ChildProcess | undefined;
  let port = 0;
  let stderr = '';

  const test = async (http: NginxHttpBlocks) => {
    writeFileSync(conf, mainConfig({ port, prefix }, http, level));
    try {
      await run(bin, ['-t', '-q', ...flags]);
    } catch (err) {
      throw new Error(`nginx -t rejected the config: ${(err as { stderr?: string }).stderr ?? err}`);
    }
  };

  const launch = async (): Promise<boolean> => {
    port = await freePort();
    await test(opts.http);
    stderr = '';
    const p = spawn(bin, flags, { stdio: ['ignore', 'ignore', 'pipe'], env: opts.env ?? process.env });
    proc = p;
    p.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    await waitFor(async () => p.exitCode !== null || (await accepts(port)), 10_000, `nginx on ${port}`);
    return p.exitCode === null;
  };

  // Another process may take the free port between freePort() and nginx's bind: try once more.
  if (!(await launch()) && !(await launch())) {
    rmSync(prefix, { recursive: true, force: true });
    throw new Error(`nginx did not start: ${stderr}`);
  }

  const stop = async () => {
    const p = proc;
    if (p && p.exitCode === null) {
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGQUIT');
        setTimeout(() => p.kill('SIGKILL'), 3000).unref();
      });
    }
    rmSync(prefix, { recursive: true, force: true });
  };

  return {
    get port() {
      return port;
    },
    prefix,
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    errorLog,
    accessLog: join(prefix, 'logs', 'access.log'),
    async reload(http) {
      const master = proc?.pid;
      if (!master) throw new Error('nginx is not running');
      await test(http);
      const before = workerPids(master);
      await run(bin, ['-s', 'reload', ...flags]);
      await waitFor(
        () => {
          const now = workerPids(master);
          return now !== '' && now.split(/\s+/).every((pid) => !before.split(/\s+/).includes(pid));
        },
        10_000,
        'nginx workers to reload',
      );
    },
    stop,
  };
}
