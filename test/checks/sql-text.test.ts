import { describe, expect, it } from 'vitest';
import { normaliseSql } from '../../src/checks/database/sql-text.js';

// The statements a real PostgreSQL and MariaDB report reach the evidence normalised:
// test/checks/database.test.ts ("lists a long pg_sleep query", "lists a long SELECT SLEEP").

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
