import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { requireBinary } from './binaries.js';
import { freePort } from './ports.js';

export interface PrivatePostgres {
  port: number;
  /** Superuser DSN over TCP (with the password when one was set). */
  url: string;
  /** Superuser DSN over the Unix socket, which trusts without a password. */
  socketUrl: string;
  dir: string;
  /** A connected superuser client over the socket; closed by destroy(). */
  client(): Promise<pg.Client>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

const INSTALL = 'apt-get install -y postgresql (.ci/run does this)';

/** Where initdb and pg_ctl live: not on PATH on Debian, so ask pg_config, then look in /usr/lib/postgresql. */
function serverBinDir(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // pg_config comes with libpq-dev, which a server-only machine lacks.
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root))
    for (const v of readdirSync(root).sort((a, b) => Number(b) - Number(a)))
      candidates.push(join(root, v, 'bin'));
  const found = candidates.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')));
  if (!found)
    throw new Error(
      `PostgreSQL server binaries (initdb, pg_ctl) are not installed; install with: ${INSTALL}`,
    );
  return found;
}

/** Runs a server tool as the postgres user when we are root (initdb refuses to run as root). */
function asPostgres(bin: string, args: string[]): string {
  if (process.getuid?.() === 0) {
    const runuser = requireBinary('runuser');
    return execFileSync(runuser, ['-u', 'postgres', '--', bin, ...args], { encoding: 'utf8', stdio: 'pipe' });
  }
  return execFileSync(bin, args, { encoding: 'utf8', stdio: 'pipe' });
}

function postgresIds(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(`there is no postgres user to run the server as; install with: ${INSTALL}`);
  }
}

/**
 * A PostgreSQL cluster of the test's own: initdb into a temp dir, started on a
 * free port on 127.0.0.1 with its socket in that dir. With `password`, TCP
 * logins need it (scram-sha-256) while the socket still trusts.
 */
export async function startPostgres(
  opts: { maxConnections?: number; password?: string; settings?: Record<string, string> } = {},
): Promise<PrivatePostgres> {
  const bin = serverBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'gw-pg-'));
  const data = join(dir, 'data');
  const ids = postgresIds();
  if (ids) chownSync(dir, ids.uid, ids.gid);
  chmodSync(dir, 0o700);
  const initArgs = ['-D', data, '-U', 'postgres', '-N', '--no-instructions'];
  if (opts.password) {
    const pwfile = join(dir, 'pw');
    writeFileSync(pwfile, `${opts.password}\n`, { mode: 0o600 });
    if (ids) chownSync(pwfile, ids.uid, ids.gid);
    initArgs.push('--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`);
  } else initArgs.push('--auth=trust');
  try {
    asPostgres(join(bin, 'initdb'), initArgs);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  const settings = {
    max_connections: String(opts.maxConnections ?? 20),
    fsync: 'off',
    shared_buffers: '16MB',
    ...opts.settings,
  };
  let port = 0;
  let lastError = '';
  // A free port can be taken between asking and binding: try again on another.
  for (let attempt = 0; attempt < 3 && !port; attempt++) {
    const candidate = await freePort();
    const serverOpts = [
      `-p ${candidate}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
    ].join(' ');
    try {
      asPostgres(join(bin, 'pg_ctl'), [
        '-D',
        data,
        '-w',
        '-t',
        '30',
        '-l',
        join(dir, 'log'),
        '-o',
        serverOpts,
        'start',
      ]);
      port = candidate;
    } catch (err) {
      lastError = (err as { stderr?: string }).stderr ?? String(err);
    }
  }
  if (!port) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pg_ctl start failed: ${lastError}`);
  }
  const clients: pg.Client[] = [];
  const auth = opts.password ? `postgres:${encodeURIComponent(opts.password)}` : 'postgres';
  const socketUrl = `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${port}`;
  return {
    port,
    url: `postgres://${auth}@127.0.0.1:${port}/postgres`,
    socketUrl,
    dir,
    async client() {
      const c = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
      c.on('error', () => {});
      await c.connect();
      clients.push(c);
      return c;
    },
    async destroy() {
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
      try {
        asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
