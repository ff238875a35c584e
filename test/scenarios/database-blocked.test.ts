// Worlds where a database is up but blocked: it takes connections, and the
// app's queries wait on it (a MariaDB row lock held by an open transaction, a
// Redis busy with one long command). The site times out; the database is the
// cause (db_slow), not down (db_unavailable) and not the app (upstream_timeout).
// And a service with two databases, only one of them broken: the verdict names it.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseEvidence } from '../../src/checks/database/check.js';
import { waitFor } from '../helpers/ports.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { check, databaseAppBehindNginx, scenarioSuite } from './world.js';

const { table, pb, later } = scenarioSuite('scenarios: databases up but blocked, and two databases');
/** The shared MariaDB: this file's own database, dropped at the end. */
const DB_NAME = `gw_blocked_${process.pid}`;
const MYSQL_URL = `mysql://root@127.0.0.1:3306/${DB_NAME}`;
let admin: mysql.Connection;

beforeAll(async () => {
  admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME}`);
  await admin.query(`CREATE DATABASE ${DB_NAME}`);
  await admin.query(`CREATE TABLE ${DB_NAME}.orders (id int PRIMARY KEY, hits int NOT NULL) ENGINE=InnoDB`);
  await admin.query(`INSERT INTO ${DB_NAME}.orders VALUES (1, 0), (2, 0)`);
});
afterAll(async () => {
  await admin?.query(`DROP DATABASE IF EXISTS ${DB_NAME}`);
  await admin?.end();
});

/** A session holding `orders` row 1 in an open transaction; rolled back after the test. */
async function holdRowLock(): Promise<number> {
  const holder = await mysql.createConnection(MYSQL_URL);
  await holder.query('BEGIN');
  await holder.query('SELECT * FROM orders WHERE id = 1 FOR UPDATE');
  const [[row]] = (await holder.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
  later(holder, async (h) => {
    await h.query('ROLLBACK').catch(() => {});
    await h.end().catch(() => h.destroy());
  });
  return row.id;
}

/**
 * Waits until `n` app sessions have waited on the row lock for over a second. The processlist, not
 * INNODB_TRX: InnoDB refreshes that view only after 100 ms without readers, which polling prevents.
 */
async function lockWaiters(n: number) {
  await waitFor(
    async () => {
      const [rows] = (await admin.query(
        `SELECT count(*) AS n FROM information_schema.PROCESSLIST
         WHERE DB = ? AND INFO LIKE 'UPDATE orders%' AND TIME_MS > 1200`,
        [DB_NAME],
      )) as unknown as [{ n: number }[]];
      return Number(rows[0]?.n) >= n;
    },
    15_000,
    `${n} app sessions to wait on the lock`,
  );
}

/** Sends Redis into a 60 s `DEBUG SLEEP` once the app has answered through it, and waits until it is busy. */
async function sleepRedis(redis: PrivateRedis, appUrl: string) {
  // The app answers while Redis is free: its connection is up before Redis goes busy.
  expect((await fetch(appUrl)).status).toBe(200);
  redis
    .client()
    .call('DEBUG', 'SLEEP', '60')
    .catch(() => {});
  // Redis is busy once a fresh client's PING goes unanswered.
  const probe = redis.client();
  await waitFor(
    () =>
      Promise.race([
        probe.ping().then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), 300)),
      ]),
    10_000,
    'Redis to be busy',
  );
}

describe('databases that are up but blocked', () => {
  it('a MariaDB row held by an open transaction, the app waiting on it: db_slow naming the holder', async () => {
    const holderId = await holdRowLock();
    const world = await databaseAppBehindNginx(later, { APP_MYSQL_URL: MYSQL_URL });
    // The app's own traffic queues behind the lock, as real requests would.
    for (let i = 0; i < 2; i++) fetch(world.app.url, { signal: AbortSignal.timeout(60_000) }).catch(() => {});
    await lockWaiters(2);
    pb.write('mysql-locked', {
      ...world.checks,
      database: { kind: 'mysql', url_env: 'ORDERS_DB_URL', long_query_seconds: 1 },
    });
    const v = await check('mysql-locked', pb.dir, { ORDERS_DB_URL: MYSQL_URL });
    table.judge('mariadb row lock held', v, { cause: 'db_slow', recommendation: 'fix', trigger: null });
    expect(v.summary).toContain(`held by session ${holderId}`);
    expect(v.actions[0]).toContain(`Session ${holderId} holds the lock`);
    expect(v.actions[0]).toContain(`KILL ${holderId};`);
  });

  it('a Redis busy with one long command, the app waiting on it: db_slow, not unavailable', async () => {
    const redis = later(await startRedis({ args: ['--enable-debug-command', 'yes'] }), (r) => r.destroy());
    const world = await databaseAppBehindNginx(later, { APP_REDIS_URL: redis.url });
    await sleepRedis(redis, world.app.url);
    pb.write('redis-busy', {
      ...world.checks,
      database: { kind: 'redis', url_env: 'CACHE_URL', timeout_ms: 1000 },
    });
    const v = await check('redis-busy', pb.dir, { CACHE_URL: redis.url });
    table.judge('redis busy with a long command', v, {
      cause: 'db_slow',
      recommendation: 'fix',
      trigger: null,
    });
    const ev = v.checks.find((c) => c.name === 'database')!.evidence[0] as DatabaseEvidence;
    expect(ev.outcome).toBe('timeout');
    expect(ev.connect_ms).not.toBeNull();
    expect(v.actions[0]).toContain('SLOWLOG GET');
  });

  it('a Redis running a Lua busy loop past its busy threshold (clients get BUSY): db_slow', async () => {
    const redis = later(await startRedis({ args: ['--busy-reply-threshold', '200'] }), (r) => r.destroy());
    const world = await databaseAppBehindNginx(later, { APP_REDIS_URL: redis.url });
    expect((await fetch(world.app.url)).status).toBe(200);
    const busy = redis.client();
    busy.eval('local i = 0 while true do i = i + 1 end', 0).catch(() => {});
    // Past the threshold every other client is told BUSY at once.
    const probe = redis.client();
    await waitFor(
      () =>
        probe.ping().then(
          () => false,
          (err: Error) => /^BUSY/.test(err.message),
        ),
      10_000,
      'Redis to answer BUSY',
    );
    pb.write('redis-lua-busy', {
      ...world.checks,
      database: { kind: 'redis', url_env: 'CACHE_URL', timeout_ms: 1000 },
    });
    const v = await check('redis-lua-busy', pb.dir, { CACHE_URL: redis.url });
    table.judge('redis lua busy loop', v, { cause: 'db_slow', recommendation: 'fix', trigger: null });
    const ev = v.checks.find((c) => c.name === 'database')!.evidence[0] as DatabaseEvidence;
    expect(ev.error).toMatch(/BUSY/);
    expect(v.actions[0]).toContain('SCRIPT KILL');
  });
});

describe('a service with two databases', () => {
  it('MariaDB fine, the Redis cache blocked: db_slow naming the cache, the other said to be fine', async () => {
    const redis = later(await startRedis({ args: ['--enable-debug-command', 'yes'] }), (r) => r.destroy());
    const world = await databaseAppBehindNginx(later, { APP_MYSQL_URL: MYSQL_URL, APP_REDIS_URL: redis.url });
    await sleepRedis(redis, world.app.url);
    pb.write('two-databases', {
      ...world.checks,
      database: [
        { name: 'orders', kind: 'mysql', url_env: 'ORDERS_DB_URL', long_query_seconds: 1 },
        { name: 'sessions', kind: 'redis', url_env: 'CACHE_URL', timeout_ms: 1000 },
      ],
    });
    const v = await check('two-databases', pb.dir, { ORDERS_DB_URL: MYSQL_URL, CACHE_URL: redis.url });
    table.judge('two databases, the cache blocked', v, {
      cause: 'db_slow',
      recommendation: 'fix',
      trigger: null,
    });
    expect(v.summary).toContain(`redis database sessions (127.0.0.1:${redis.port})`);
    expect(v.summary).toContain('orders is fine');
    const ev = v.checks.find((c) => c.name === 'database')!.evidence as DatabaseEvidence[];
    expect(ev.map((e) => [e.name, e.kind, e.outcome])).toEqual([
      ['orders', 'mysql', 'ok'],
      ['sessions', 'redis', 'timeout'],
    ]);
  });
});
