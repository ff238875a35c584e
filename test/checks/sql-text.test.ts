import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type DatabaseEvidence, databaseCheck } from '../../src/checks/database/check.js';
import { normaliseSql } from '../../src/checks/database/sql-text.js';
import type { CheckOutput } from '../../src/checks/types.js';
import { silentLogger } from '../../src/log.js';
import { DatabaseCheckSchema } from '../../src/playbooks/schema.js';
import { waitFor } from '../helpers/ports.js';

// Both servers run on this machine kind (TESTING.md); these tests only read and sleep.
const POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';
const MARIADB = 'mysql://root@127.0.0.1:3306/test';

describe('SQL text in evidence carries no literals', () => {
  it.each([
    [
      "SELECT * FROM users WHERE email = 'alice@example.com' AND id = 42",
      'SELECT * FROM users WHERE email = ? AND id = ?',
    ],
    [
      "UPDATE t SET note = 'it''s', n = -3.5e10 WHERE k IN (1, 2, 3)",
      'UPDATE t SET note = ?, n = -? WHERE k IN (?, ?, ?)',
    ],
    ["SELECT E'a\\'b', x'1F', $tag$ secret $tag$, $$ more $$ FROM t1", 'SELECT ?, ?, ?, ? FROM t1'],
    [
      'SELECT "Weird Col", t2.c3 FROM t2 WHERE a = $1 AND b = .5',
      'SELECT "Weird Col", t2.c3 FROM t2 WHERE a = $1 AND b = ?',
    ],
    ["SELECT 1 -- card 4111111111111111\n, /* token='abc' */ 'x'::date", 'SELECT ? , ?::date'],
    ["INSERT INTO t VALUES ('cut in the midd…", 'INSERT INTO t VALUES (?'],
    ['SELECT  a,\n\t b FROM t WHERE c = 0x1F', 'SELECT a, b FROM t WHERE c = ?'],
  ])('postgres: %j', (raw, normal) => {
    expect(normaliseSql(raw, 'postgres')).toBe(normal);
  });

  it.each([
    [
      'SELECT * FROM `orders` WHERE note = "double-quoted is a string" # trailing',
      'SELECT * FROM `orders` WHERE note = ?',
    ],
    ["SELECT 'a\\'b' AS x, 7", 'SELECT ? AS x, ?'],
  ])('mysql: %j', (raw, normal) => {
    expect(normaliseSql(raw, 'mysql')).toBe(normal);
  });

  it('keeps null as null', () => {
    expect(normaliseSql(null, 'postgres')).toBeNull();
  });
});

async function runCheck(kind: 'postgres' | 'mysql', url: string): Promise<CheckOutput<DatabaseEvidence>> {
  return databaseCheck.run(DatabaseCheckSchema.parse({ kind, url_env: 'DB_URL', long_query_seconds: 0.5 }), {
    service: 'svc',
    signal: new AbortController().signal,
    log: silentLogger(),
    env: { DB_URL: url },
    now: Date.now,
    onsetAt: Date.now(),
    timeoutMs: 5000,
  });
}

describe('a long query holding literals, seen by the database check', () => {
  it('PostgreSQL: the statement reaches the evidence with ? for each literal', async () => {
    const sleeper = new pg.Client({ connectionString: POSTGRES });
    await sleeper.connect();
    const admin = new pg.Client({ connectionString: POSTGRES });
    await admin.connect();
    const pid = (await sleeper.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const running = sleeper
      .query("SELECT pg_sleep(30), 'alice@example.com' AS email, 4111111111111111 AS card")
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
      const out = await runCheck('postgres', POSTGRES);
      const q = out.evidence[0]?.long_queries.find((l) => l.id === pid);
      expect(q?.query).toBe('SELECT pg_sleep(?), ? AS email, ? AS card');
      const json = JSON.stringify(out);
      expect(json).not.toContain('alice@example.com');
      expect(json).not.toContain('4111111111111111');
    } finally {
      await admin.query('SELECT pg_cancel_backend($1)', [pid]);
      await running;
      await sleeper.end();
      await admin.end();
    }
  });

  it('MariaDB: the statement reaches the evidence with ? for each literal', async () => {
    const sleeper = await mysql.createConnection({ uri: MARIADB });
    const admin = await mysql.createConnection({ uri: MARIADB });
    const id = sleeper.threadId;
    const running = sleeper.query("SELECT SLEEP(20), 'alice@example.com' AS email").catch(() => {});
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
      const out = await runCheck('mysql', MARIADB);
      const q = out.evidence[0]?.long_queries.find((l) => l.id === id);
      expect(q?.query).toBe('SELECT SLEEP(?), ? AS email');
      expect(JSON.stringify(out)).not.toContain('alice@example.com');
    } finally {
      await admin.query(`KILL QUERY ${id}`);
      await running;
      await sleeper.end();
      await admin.end();
    }
  });
});
