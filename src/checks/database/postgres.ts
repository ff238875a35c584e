import type pg from 'pg';
import {
  clip,
  type DbDriver,
  type DbOutcome,
  type DbSession,
  type LockWait,
  type LongQuery,
  networkOutcome,
  usage,
} from './types.js';

/** SQLSTATEs that say who is to blame: the credentials, or the server's slots (53300 covers reserved slots too). */
const AUTH_STATES = new Set(['28P01', '28000']);
const SLOT_STATES = new Set(['53300']);
/** The server is starting up, shutting down or in recovery: it is not taking clients. */
const UNAVAILABLE_STATES = new Set(['57P03', '57P01', '57P02']);

const CONNECTIONS_SQL = `
SELECT coalesce(state, 'unknown') AS state, count(*)::int AS n,
       current_setting('max_connections')::int AS max,
       current_setting('superuser_reserved_connections')::int AS reserved
FROM pg_stat_activity
WHERE backend_type = 'client backend'
GROUP BY 1`;

const LONG_QUERIES_SQL = `
SELECT pid, usename, state,
       extract(epoch FROM now() - query_start)::float8 AS seconds,
       CASE WHEN wait_event_type IS NULL THEN NULL ELSE wait_event_type || ':' || wait_event END AS wait,
       left(query, 400) AS query
FROM pg_stat_activity
WHERE backend_type = 'client backend'
  AND state = 'active'
  AND pid <> pg_backend_pid()
  AND now() - query_start > make_interval(secs => $1::float8)
ORDER BY query_start
LIMIT 20`;

const LOCK_WAITS_SQL = `
SELECT a.pid,
       extract(epoch FROM now() - a.query_start)::float8 AS seconds,
       pg_blocking_pids(a.pid) AS blocked_by,
       l.locktype || ' ' || l.mode || coalesce(' on ' || l.relation::regclass::text, '') AS lock,
       left(a.query, 400) AS query
FROM pg_stat_activity a
JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
ORDER BY a.query_start
LIMIT 20`;

class PostgresSession implements DbSession {
  constructor(private readonly client: pg.Client) {}

  async ping() {
    await this.client.query('SELECT 1');
  }

  async connections() {
    const { rows } = await this.client.query<{ state: string; n: number; max: number; reserved: number }>(
      CONNECTIONS_SQL,
    );
    const first = rows[0];
    if (!first) return null;
    const byState: Record<string, number> = {};
    for (const r of rows) byState[r.state] = r.n;
    const used = rows.reduce((sum, r) => sum + r.n, 0);
    return usage(used, first.max, first.reserved, byState);
  }

  async longQueries(minSeconds: number): Promise<LongQuery[]> {
    const { rows } = await this.client.query<{
      pid: number;
      usename: string | null;
      state: string | null;
      seconds: number;
      wait: string | null;
      query: string | null;
    }>(LONG_QUERIES_SQL, [minSeconds]);
    return rows.map((r) => ({
      id: r.pid,
      seconds: Math.round(r.seconds * 10) / 10,
      user: r.usename,
      state: r.state,
      wait: r.wait,
      query: clip(r.query),
    }));
  }

  async lockWaits(): Promise<LockWait[]> {
    const { rows } = await this.client.query<{
      pid: number;
      seconds: number | null;
      blocked_by: number[];
      lock: string | null;
      query: string | null;
    }>(LOCK_WAITS_SQL);
    return rows.map((r) => ({
      id: r.pid,
      seconds: r.seconds === null ? null : Math.round(r.seconds * 10) / 10,
      blocked_by: r.blocked_by,
      lock: r.lock,
      query: clip(r.query),
    }));
  }

  async close() {
    await this.client.end().catch(() => {});
  }

  destroy() {
    this.client.connection.stream.destroy();
  }
}

export const postgresDriver: DbDriver = {
  async open(dsn, { queryTimeoutMs, signal }) {
    // Loaded on first use: a worker whose playbooks check no PostgreSQL never carries the driver (~10 MB).
    const { default: driver } = await import('pg');
    // No driver connect timeout: the caller's signal is the one deadline, so a timeout is always classified as such.
    const client = new driver.Client({
      connectionString: dsn,
      application_name: 'gatewatch',
      statement_timeout: queryTimeoutMs,
      query_timeout: queryTimeoutMs,
    });
    client.on('error', () => {});
    const onAbort = () => client.connection.stream.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted) throw new Error('aborted before connecting');
      await client.connect();
      return new PostgresSession(client);
    } catch (err) {
      client.connection.stream.destroy();
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  },

  classify(err): DbOutcome {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (AUTH_STATES.has(code)) return 'auth';
      if (SLOT_STATES.has(code)) return 'too_many_connections';
      if (UNAVAILABLE_STATES.has(code)) return 'refused';
    }
    return networkOutcome(err);
  },
};
