// Worlds where the database decides: one private PostgreSQL cluster for the
// file, an app process that queries it on every request, nginx in front.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNginx } from '../helpers/nginx.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { type PrivatePostgres, startPostgres } from '../helpers/postgres.js';
import { resettingUpstream } from '../helpers/upstreams.js';
import {
  check,
  databaseAppBehindNginx,
  gitRepo,
  nginxSampling,
  proxiedSite,
  scenarioSuite,
} from './world.js';

const { table, pb, later } = scenarioSuite('scenarios: database');
let db: PrivatePostgres;
let appDsn: string;

beforeAll(async () => {
  db = await startPostgres({ maxConnections: 20 });
  const admin = await db.client();
  await admin.query('CREATE TABLE orders (id int PRIMARY KEY, total numeric)');
  await admin.query('INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 100) g');
  // The app logs in as an ordinary role: it cannot use the slots reserved for superusers.
  await admin.query('CREATE ROLE app LOGIN; GRANT SELECT ON orders TO app');
  appDsn = `postgres://app@127.0.0.1:${db.port}/postgres`;
});
afterAll(async () => {
  await db?.destroy();
});

describe('scenario worlds decided by the database', () => {
  it('a database refusing connections: db_unavailable, an app deploy in the window is no trigger', async () => {
    const closed = `postgres://app@127.0.0.1:${await freePort()}/postgres`;
    const repo = later(
      await gitRepo([
        { minutesAgo: 10, subject: 'Checkout 3.0', files: { 'services/checkout/app.js': 'v3' } },
      ]),
      (r) => r.destroy(),
    );
    const world = await databaseAppBehindNginx(later, { APP_DB_URL: closed });
    pb.write('db-refusing', {
      ...world.checks,
      database: { kind: 'postgres', url_env: 'CHECKOUT_DB_URL' },
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
    });
    const v = await check('db-refusing', pb.dir, { CHECKOUT_DB_URL: closed });
    table.judge('database refusing', v, { cause: 'db_unavailable', recommendation: 'fix', trigger: null });
  });

  it('a database slow from a held lock and a long query: db_slow naming the blocking pid, the deploy is the trigger', async () => {
    const holder = await db.client();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    later(holder, (h) => h.query('ROLLBACK'));
    const sleeper = await db.client();
    const sleeperPid = (await sleeper.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    sleeper.query('SELECT pg_sleep(120)').catch(() => {});
    later(sleeperPid, (pid) => holder.query('SELECT pg_cancel_backend($1)', [pid]));

    const repo = later(
      await gitRepo([
        {
          minutesAgo: 30,
          subject: 'Checkout 3.1: orders migration',
          files: { 'services/checkout/migrate.sql': 'ALTER TABLE orders …' },
        },
      ]),
      (r) => r.destroy(),
    );
    const world = await databaseAppBehindNginx(later, { APP_DB_URL: appDsn });
    // The app's own requests queue behind the lock, as real traffic would.
    for (let i = 0; i < 2; i++) fetch(world.app.url, { signal: AbortSignal.timeout(20_000) }).catch(() => {});
    const admin = await db.client();
    await waitFor(
      async () =>
        (
          await admin.query(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND now() - query_start > interval '1.2 s'",
          )
        ).rowCount,
      10_000,
      'the app to wait on the lock',
    );
    pb.write('db-locked', {
      ...world.checks,
      database: { kind: 'postgres', url_env: 'CHECKOUT_DB_URL', long_query_seconds: 1 },
      changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
    });
    const v = await check('db-locked', pb.dir, { CHECKOUT_DB_URL: db.url });
    table.judge('database locks and long query', v, {
      cause: 'db_slow',
      recommendation: 'fix',
      trigger: repo.shas[0]!.slice(0, 12),
    });
    expect(v.actions[1]).toContain(`Session ${holderPid} holds the lock`);
    expect(v.actions[1]).toContain(`SELECT pg_terminate_backend(${holderPid});`);
    expect(v.actions.join(' ')).toContain(`pg_cancel_backend(${sleeperPid})`);
  });

  it('a database out of connections: db_saturated with connection capacity', async () => {
    const fillers: pg.Client[] = [];
    later(fillers, (cs) => Promise.all(cs.map((c) => c.end().catch(() => {}))));
    // 20 slots less 3 reserved for superusers: ordinary logins fill the other 17 (with this file's own sessions).
    for (;;) {
      const c = new pg.Client({ connectionString: appDsn });
      c.on('error', () => {});
      try {
        await c.connect();
      } catch (err) {
        expect((err as { code?: string }).code).toBe('53300');
        break;
      }
      fillers.push(c);
      expect(fillers.length).toBeLessThanOrEqual(17);
    }
    const world = await databaseAppBehindNginx(later, { APP_DB_URL: appDsn });
    pb.write('db-full', { ...world.checks, database: { kind: 'postgres', url_env: 'CHECKOUT_DB_URL' } });
    const v = await check('db-full', pb.dir, { CHECKOUT_DB_URL: db.url });
    table.judge('database out of connections', v, {
      cause: 'db_saturated',
      recommendation: 'scale-up',
      trigger: null,
    });
    expect(v.capacity).toMatchObject({ resource: 'connections', instances: 17, target_utilisation: 0.7 });
    // 18 in use (17 + gatewatch's own) ÷ 0.7 = 25.7 → 26
    expect(v.capacity!.suggested_instances).toBe(26);
    expect(v.actions[0]).toContain('from 17 to at least 26');
  });

  it('an app that resets after a deploy, while a 40 s report runs and idle pooled sessions hold most slots: upstream_crash, not the database', async () => {
    const app = later(await resettingUpstream(), (a) => a.close());
    const nginx = later(await startNginx({ http: proxiedSite(app.port) }), (n) => n.stop());
    const repo = later(
      await gitRepo([
        { minutesAgo: 8, subject: 'Checkout 3.1', files: { 'services/checkout/app.js': 'v3.1' } },
      ]),
      (r) => r.destroy(),
    );
    // A pool's idle sessions (two left idle in a transaction) and one long reporting query:
    const admin = await db.client();
    // The worlds before this one have closed their sessions: start from an idle server.
    await waitFor(
      async () =>
        Number(
          (await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'app'")).rows[0]?.n,
        ) === 0,
      10_000,
      'the earlier worlds to close their sessions',
    );
    const sessions: pg.Client[] = [];
    later(sessions, (cs) => Promise.all(cs.map((c) => c.end().catch(() => {}))));
    // Fill to 14 client sessions (15 with gatewatch's own: 88% of the 17 usable slots), whatever this file holds already.
    const open = Number(
      (await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend'"))
        .rows[0]?.n,
    );
    expect(open).toBeLessThanOrEqual(10);
    for (let i = open; i < 14; i++) {
      const c = new pg.Client({ connectionString: appDsn });
      c.on('error', () => {});
      await c.connect();
      sessions.push(c);
    }
    await sessions[0]!.query('BEGIN');
    await sessions[0]!.query('SELECT 1');
    await sessions[1]!.query('BEGIN');
    await sessions[1]!.query('SELECT count(*) FROM orders');
    // Watch this report's own backend: an earlier world's sleeper must not stand in for it.
    const reportPid = (await sessions[2]!.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
      .pid;
    sessions[2]!.query('SELECT pg_sleep(40)').catch(() => {});
    await waitFor(
      async () =>
        (
          await admin.query(
            "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%' AND now() - query_start > interval '1.2 s'",
            [reportPid],
          )
        ).rowCount,
      10_000,
      'the report to run over a second',
    );
    for (let i = 0; i < 3; i++) await (await fetch(`${nginx.url}/healthz`)).arrayBuffer();
    pb.write(
      'resets-with-report',
      {
        proxy: nginxSampling(nginx),
        upstream: { targets: [app.url], probes: 2, timeout_ms: 800 },
        database: {
          kind: 'postgres',
          url_env: 'CHECKOUT_DB_URL',
          long_query_seconds: 1,
          thresholds: { connections: 0.8 },
        },
        changes: { window_minutes: 60, git: { repo: repo.dir, paths: [] } },
      },
      // Five probes and three readings of a nearly full server: room for all of them on a loaded machine.
      { check_ms: 8000, total_ms: 12000 },
    );
    const v = await check('resets-with-report', pb.dir, { CHECKOUT_DB_URL: db.url });
    table.judge('resets + long report + idle slots', v, {
      cause: 'upstream_crash',
      recommendation: 'fix',
      trigger: repo.shas[0]!.slice(0, 12),
    });
    const evidence = v.checks.find((c) => c.name === 'database')!.evidence[0] as {
      long_queries: { state: string | null }[];
      notes?: string[];
    };
    expect(
      evidence.long_queries.map((q) => q.state),
      JSON.stringify(evidence),
    ).toEqual(['active']);
  });
});
