import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseEvidence, databaseCheck } from '../../src/checks/database/check.js';
import { describeTarget, dsnScrubber, scrubDeep } from '../../src/checks/database/secrets.js';
import type { CheckOutput } from '../../src/checks/types.js';
import { silentLogger } from '../../src/log.js';
import { DatabaseCheckSchema } from '../../src/playbooks/schema.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { type PrivatePostgres, startPostgres } from '../helpers/postgres.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { hangingUpstream } from '../helpers/upstreams.js';

const PG_PASSWORD = `pg-Pw-${randomBytes(6).toString('hex')}`;
const REDIS_PASSWORD = `redis-Pw-${randomBytes(6).toString('hex')}`;
const MARIADB = 'mysql://root@127.0.0.1:3306/test';

async function runCheck(
  config: Record<string, unknown>,
  env: Record<string, string | undefined>,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<CheckOutput<DatabaseEvidence> & { json: string }> {
  const out = await databaseCheck.run(DatabaseCheckSchema.parse({ url_env: 'DB_URL', ...config }), {
    service: 'svc',
    signal: opts.signal ?? new AbortController().signal,
    log: silentLogger(),
    env,
    now: Date.now,
    onsetAt: Date.now(),
    timeoutMs: opts.timeoutMs ?? 5000,
  });
  return { ...out, json: JSON.stringify(out) };
}

function only(out: CheckOutput<DatabaseEvidence>): DatabaseEvidence {
  expect(out.evidence).toHaveLength(1);
  return out.evidence[0]!;
}

describe('database check: configuration', () => {
  it('names the missing variable and reports error', async () => {
    const out = await runCheck({ kind: 'postgres', url_env: 'ORDERS_DB_URL' }, {});
    expect(out.status).toBe('error');
    expect(out.summary).toContain('ORDERS_DB_URL');
    expect(out.evidence).toEqual([]);
  });

  it('refuses a DSN of the wrong kind without echoing it', async () => {
    const dsn = 'mysql://app:hunter2-secret@db.internal:3306/app';
    const out = await runCheck({ kind: 'postgres' }, { DB_URL: dsn });
    expect(out.status).toBe('error');
    expect(out.summary).toContain('DB_URL');
    expect(out.json).not.toContain('hunter2-secret');
    expect(out.json).not.toContain(dsn);
  });
});

describe('database check: DSN scrubbing', () => {
  it('blanks the DSN, its password (raw and URL-encoded) and any user:pass@ in a text', () => {
    const dsn = 'postgres://app:s3cr%40t-pw@db.internal:5432/app?sslpassword=key-pass';
    const scrub = dsnScrubber(dsn);
    const text = `failed ${dsn}; auth s3cr@t-pw / s3cr%40t-pw; key key-pass; see mysql://other:pw2@h/db`;
    const clean = scrub(text);
    for (const secret of [dsn, 's3cr@t-pw', 's3cr%40t-pw', 'key-pass', 'pw2'])
      expect(clean).not.toContain(secret);
    expect(clean).toContain('mysql://[redacted]@h/db');
    expect(scrubDeep({ a: [text], n: 1 }, scrub)).toEqual({ a: [clean], n: 1 });
    expect(describeTarget(dsn, 5432)).toBe('db.internal:5432/app');
  });
});

describe('database check: PostgreSQL (private cluster, max_connections=20)', () => {
  let server: PrivatePostgres;
  let admin: pg.Client;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startPostgres({ maxConnections: 20, password: PG_PASSWORD });
    admin = await server.client();
    env = { DB_URL: server.url };
  });
  afterAll(async () => {
    await server?.destroy();
  });

  const backendPid = async (c: pg.Client) =>
    (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

  it('measures round trips and connection use of a quiet database, never showing the DSN', async () => {
    const out = await runCheck({ kind: 'postgres', probes: 7 }, env);
    const e = only(out);
    expect(e.outcome).toBe('ok');
    expect(out.status).toBe('ok');
    expect(e.target).toBe(`127.0.0.1:${server.port}/postgres`);
    expect(e.probes).toBe(7);
    expect(e.failures).toBe(0);
    expect(e.p50_ms).toBeGreaterThan(0);
    expect(e.p95_ms).toBeGreaterThanOrEqual(e.p50_ms!);
    expect(e.connections).toMatchObject({ max: 20, usable: 17 });
    // The admin session and the check's own.
    expect(e.connections!.used).toBeGreaterThanOrEqual(2);
    expect(e.long_queries).toEqual([]);
    expect(e.lock_waits).toEqual([]);
    expect(out.json).not.toContain(PG_PASSWORD);
    expect(out.json).not.toContain(server.url);
  });

  it('lists a long pg_sleep query with its age', async () => {
    const sleeper = await server.client();
    const pid = await backendPid(sleeper);
    // The statement carries the password, as an ALTER ROLE would: evidence must still never show it.
    // It carries a literal too, which must reach the evidence as ?.
    const running = sleeper
      .query(`SELECT pg_sleep(30), 'alice@example.com' AS email /* set to ${PG_PASSWORD} */`)
      .catch(() => {});
    try {
      await waitFor(
        async () =>
          (
            await admin.query(
              "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND now() - query_start > interval '600 ms'",
              [pid],
            )
          ).rowCount,
        10_000,
        'the sleeper to be 0.6 s old',
      );
      const out = await runCheck({ kind: 'postgres', long_query_seconds: 0.5 }, env);
      const e = only(out);
      const q = e.long_queries.find((l) => l.id === pid);
      expect(q).toBeDefined();
      // Literals become ?, and the comment that held the password is dropped with it.
      expect(q!.query).toBe('SELECT pg_sleep(?), ? AS email');
      expect(out.json).not.toContain('alice@example.com');
      expect(out.json).not.toContain(PG_PASSWORD);
      expect(q!.seconds).toBeGreaterThanOrEqual(0.5);
      expect(q!.state).toBe('active');
      expect(out.status).toBe('warn');
      expect(out.summary).toMatch(/1 long query/);
    } finally {
      await admin.query('SELECT pg_cancel_backend($1)', [pid]);
      await running;
    }
  });

  it('shows a lock wait and who holds the lock', async () => {
    const table = `locked_${randomBytes(3).toString('hex')}`;
    await admin.query(`CREATE TABLE ${table} (id int)`);
    const holder = await server.client();
    const waiter = await server.client();
    const holderPid = await backendPid(holder);
    const waiterPid = await backendPid(waiter);
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    const waiting = waiter.query(`SELECT count(*) FROM ${table}`);
    try {
      await waitFor(
        async () =>
          (
            await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", [
              waiterPid,
            ])
          ).rowCount,
        10_000,
        'the waiter to wait on the lock',
      );
      const out = await runCheck({ kind: 'postgres' }, env);
      const e = only(out);
      const wait = e.lock_waits.find((w) => w.id === waiterPid);
      expect(wait).toBeDefined();
      expect(wait!.blocked_by).toContain(holderPid);
      expect(wait!.lock).toContain(table);
      expect(wait!.query).toContain(`FROM ${table}`);
      expect(out.status).toBe('warn');
      expect(out.summary).toMatch(/1 lock wait/);
    } finally {
      await holder.query('ROLLBACK');
      await waiting;
      await admin.query(`DROP TABLE ${table}`);
    }
  });

  it('flags connections near max_connections as saturated', async () => {
    const extra: pg.Client[] = [];
    try {
      for (let i = 0; i < 13; i++) extra.push(await server.client());
      const out = await runCheck({ kind: 'postgres', thresholds: { connections: 0.8 } }, env);
      const e = only(out);
      expect(e.outcome).toBe('ok');
      // admin + 13 + the check's own, of 17 usable.
      expect(e.connections!.used).toBeGreaterThanOrEqual(15);
      expect(e.connections!.ratio).toBeGreaterThanOrEqual(0.8);
      expect(e.saturated).toBe(true);
      expect(out.status).toBe('fail');
      expect(out.summary).toMatch(/saturated/);
    } finally {
      await Promise.all(extra.map((c) => c.end()));
    }
  });

  it('classifies "too many clients" as too_many_connections', async () => {
    const extra: pg.Client[] = [];
    try {
      // Superusers may use the reserved slots too: fill every one of the 20.
      for (let i = 0; i < 25; i++) {
        try {
          extra.push(await server.client());
        } catch {
          break;
        }
      }
      const out = await runCheck({ kind: 'postgres' }, env);
      const e = only(out);
      expect(e.outcome).toBe('too_many_connections');
      expect(e.saturated).toBe(true);
      expect(out.status).toBe('fail');
      expect(out.json).not.toContain(PG_PASSWORD);
    } finally {
      await Promise.all(extra.map((c) => c.end()));
    }
  });

  it('classifies a wrong password as auth and keeps both passwords out', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const out = await runCheck(
      { kind: 'postgres' },
      { DB_URL: `postgres://postgres:${wrong}@127.0.0.1:${server.port}/postgres` },
    );
    const e = only(out);
    expect(e.outcome).toBe('auth');
    expect(out.status).toBe('fail');
    expect(e.error).toBeTruthy();
    expect(out.json).not.toContain(wrong);
    expect(out.json).not.toContain(PG_PASSWORD);
  });

  it('classifies a closed port as refused', async () => {
    const port = await freePort();
    const out = await runCheck(
      { kind: 'postgres' },
      { DB_URL: `postgres://postgres:${PG_PASSWORD}@127.0.0.1:${port}/postgres` },
    );
    const e = only(out);
    expect(e.outcome).toBe('refused');
    expect(out.status).toBe('fail');
    expect(out.summary).toContain(`127.0.0.1:${port}`);
    expect(out.json).not.toContain(PG_PASSWORD);
  });
});

describe('database check: a server that accepts and never answers', () => {
  it('classifies the silence as timeout within the check budget', async () => {
    const hang = await hangingUpstream();
    try {
      for (const [kind, scheme] of [
        ['postgres', 'postgres'],
        ['mysql', 'mysql'],
        ['redis', 'redis'],
      ] as const) {
        const started = performance.now();
        const out = await runCheck(
          { kind },
          { DB_URL: `${scheme}://u:p4ss-w0rd@127.0.0.1:${hang.port}/db` },
          { timeoutMs: 800 },
        );
        const e = only(out);
        expect(e.outcome, `${kind}: ${e.error}`).toBe('timeout');
        expect(out.status).toBe('fail');
        expect(out.json).not.toContain('p4ss-w0rd');
        // Generous: the point is that it does not wait for the driver's own (much longer) timeouts.
        expect(performance.now() - started).toBeLessThan(5000);
      }
    } finally {
      await hang.close();
    }
  });

  it('stops when the runner aborts it', async () => {
    const hang = await hangingUpstream();
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('total deadline')), 200);
      const out = await runCheck(
        { kind: 'postgres' },
        { DB_URL: `postgres://u@127.0.0.1:${hang.port}/db` },
        { timeoutMs: 30_000, signal: controller.signal },
      );
      expect(only(out).outcome).toBe('timeout');
    } finally {
      await hang.close();
    }
  });
});

describe('database check: MariaDB on 127.0.0.1:3306', () => {
  let admin: mysql.Connection;
  beforeAll(async () => {
    admin = await mysql.createConnection({ uri: MARIADB });
  });
  afterAll(async () => {
    await admin?.end();
  });

  it('measures latency and connection use against @@max_connections', async () => {
    const extra = await Promise.all([1, 2, 3].map(() => mysql.createConnection({ uri: MARIADB })));
    try {
      const [[limits]] = await admin.query<mysql.RowDataPacket[]>('SELECT @@max_connections AS max');
      const out = await runCheck({ kind: 'mysql', probes: 4 }, { DB_URL: MARIADB });
      const e = only(out);
      expect(e.outcome).toBe('ok');
      expect(e.target).toBe('127.0.0.1:3306/test');
      expect(e.probes).toBe(4);
      expect(e.p95_ms).toBeGreaterThan(0);
      expect(e.connections!.max).toBe(Number(limits!.max));
      // admin + 3 + the check's own (other users of this server only add to it).
      expect(e.connections!.used).toBeGreaterThanOrEqual(5);
      expect(e.connections!.by_state.running).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all(extra.map((c) => c.end()));
    }
  });

  it('lists a long SELECT SLEEP', async () => {
    const sleeper = await mysql.createConnection({ uri: MARIADB });
    const id = sleeper.threadId;
    const running = sleeper
      .query("SELECT SLEEP(20) AS gatewatch_test_sleeper, 'alice@example.com' AS email")
      .catch(() => {});
    try {
      await waitFor(
        async () => {
          const [rows] = await admin.query<mysql.RowDataPacket[]>(
            'SELECT TIME FROM information_schema.PROCESSLIST WHERE ID = ? AND TIME >= 1',
            [id],
          );
          return rows.length > 0;
        },
        10_000,
        'the sleeper to be 1 s old',
      );
      const out = await runCheck({ kind: 'mysql', long_query_seconds: 1 }, { DB_URL: MARIADB });
      const e = only(out);
      const q = e.long_queries.find((l) => l.id === id);
      expect(q).toBeDefined();
      expect(q!.query).toBe('SELECT SLEEP(?) AS gatewatch_test_sleeper, ? AS email');
      expect(JSON.stringify(out)).not.toContain('alice@example.com');
      expect(q!.seconds).toBeGreaterThanOrEqual(1);
      expect(out.status).toBe('warn');
    } finally {
      await admin.query(`KILL QUERY ${id}`);
      await running;
      await sleeper.end();
    }
  });

  it('shows an InnoDB row-lock wait and its blocker', async () => {
    const table = `gw_lock_${randomBytes(3).toString('hex')}`;
    await admin.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, v INT) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO ${table} VALUES (1, 0)`);
    const holder = await mysql.createConnection({ uri: MARIADB });
    const waiter = await mysql.createConnection({ uri: MARIADB });
    try {
      await holder.query('START TRANSACTION');
      await holder.query(`UPDATE ${table} SET v = 1 WHERE id = 1`);
      await waiter.query('SET SESSION innodb_lock_wait_timeout = 30');
      const waiting = waiter.query(`UPDATE ${table} SET v = 2 WHERE id = 1`).catch(() => {});
      await waitFor(
        async () => {
          // InnoDB refreshes its INNODB_TRX cache only after 100 ms without readers: poll slower than that.
          await new Promise((r) => setTimeout(r, 150));
          const [rows] = await admin.query<mysql.RowDataPacket[]>(
            "SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_mysql_thread_id = ?",
            [waiter.threadId],
          );
          return rows.length > 0;
        },
        10_000,
        'the waiter to wait on the row lock',
      );
      const out = await runCheck({ kind: 'mysql' }, { DB_URL: MARIADB });
      const e = only(out);
      const wait = e.lock_waits.find((w) => w.id === waiter.threadId);
      expect(wait).toBeDefined();
      expect(wait!.blocked_by).toContain(holder.threadId);
      expect(wait!.lock).toContain(table);
      expect(out.status).toBe('warn');
      await holder.query('ROLLBACK');
      await waiting;
    } finally {
      // Dropped, not ended: a session stuck in a lock wait would hold end() for the whole lock timeout.
      holder.destroy();
      waiter.destroy();
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });

  it('classifies a rejected password as auth without showing it', async () => {
    const out = await runCheck(
      { kind: 'mysql' },
      { DB_URL: 'mysql://root:not-the-Passw0rd@127.0.0.1:3306/test' },
    );
    const e = only(out);
    expect(e.outcome).toBe('auth');
    expect(out.json).not.toContain('not-the-Passw0rd');
  });

  it('classifies a closed port as refused', async () => {
    const port = await freePort();
    const out = await runCheck({ kind: 'mysql' }, { DB_URL: `mysql://root@127.0.0.1:${port}/test` });
    expect(only(out).outcome).toBe('refused');
  });
});

describe('database check: Redis (private, password set)', () => {
  let server: PrivateRedis;
  let admin: Redis;
  let dsn: string;
  beforeAll(async () => {
    server = await startRedis();
    admin = server.client();
    // Set after start: the helper's readiness probe speaks without a password.
    await admin.config('SET', 'requirepass', REDIS_PASSWORD);
    await admin.auth(REDIS_PASSWORD);
    dsn = `redis://:${REDIS_PASSWORD}@127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('measures PING latency and clients against maxclients', async () => {
    const [, maxclients] = (await admin.config('GET', 'maxclients')) as [string, string];
    const out = await runCheck({ kind: 'redis' }, { DB_URL: dsn });
    const e = only(out);
    expect(e.outcome).toBe('ok');
    expect(out.status).toBe('ok');
    expect(e.p95_ms).toBeGreaterThan(0);
    expect(e.connections!.max).toBe(Number(maxclients));
    expect(e.connections!.used).toBeGreaterThanOrEqual(2);
    expect(out.json).not.toContain(REDIS_PASSWORD);
  });

  it('classifies a wrong password as auth', async () => {
    const out = await runCheck(
      { kind: 'redis' },
      { DB_URL: `redis://:wrong-${REDIS_PASSWORD}@127.0.0.1:${server.port}` },
    );
    expect(only(out).outcome).toBe('auth');
    expect(out.json).not.toContain(REDIS_PASSWORD);
  });

  it('classifies "max number of clients reached" as too_many_connections', async () => {
    const { used } = only(await runCheck({ kind: 'redis' }, { DB_URL: dsn })).connections!;
    // Exactly full once the check's own connection is gone again.
    await admin.config('SET', 'maxclients', String(used - 1));
    try {
      const out = await runCheck({ kind: 'redis' }, { DB_URL: dsn });
      const e = only(out);
      expect(e.outcome).toBe('too_many_connections');
      expect(e.saturated).toBe(true);
      expect(out.status).toBe('fail');
    } finally {
      await admin.config('SET', 'maxclients', '10000');
    }
  });

  it('flags saturation from the connection ratio', async () => {
    await admin.config('SET', 'maxclients', '3');
    try {
      const out = await runCheck({ kind: 'redis', thresholds: { connections: 0.5 } }, { DB_URL: dsn });
      const e = only(out);
      expect(e.outcome).toBe('ok');
      expect(e.connections).toMatchObject({ max: 3, used: 2 });
      expect(e.saturated).toBe(true);
      expect(out.status).toBe('fail');
    } finally {
      await admin.config('SET', 'maxclients', '10000');
    }
  });
});
