import { describe, expect, it } from 'vitest';
import { dbSlow, rootBlockers } from '../../../src/verdict/causes/db-slow.js';
import { database, db, ev, proxy, proxySample, target, upstream } from '../build.js';

const locked = db({
  long_queries: [
    {
      id: 4242,
      seconds: 95,
      user: 'migrator',
      state: 'idle in transaction',
      wait: null,
      query: 'LOCK TABLE orders',
    },
    {
      id: 5001,
      seconds: 30,
      user: 'app',
      state: 'active',
      wait: 'Lock:relation',
      query: 'SELECT * FROM orders WHERE id = $1',
    },
    {
      id: 6001,
      seconds: 40,
      user: 'report',
      state: 'active',
      wait: null,
      query: 'SELECT sum(total) FROM order_lines',
    },
  ],
  lock_waits: [
    {
      id: 5001,
      seconds: 30,
      blocked_by: [4242],
      lock: 'relation',
      query: 'SELECT * FROM orders WHERE id = $1',
    },
    { id: 5002, seconds: 20, blocked_by: [5001], lock: 'relation', query: 'SELECT 1 FROM orders' },
  ],
});
const timingOut = upstream(target(1, 'timeout'));

describe('db_slow', () => {
  it('names the root blocker with pg_terminate_backend, and cancels the unrelated long query', () => {
    const f = dbSlow(ev(database(locked), timingOut, proxy(proxySample({ 504: 5 }))));
    expect(f?.cause).toBe('db_slow');
    expect(f!.confidence).toBeGreaterThanOrEqual(0.85);
    expect(f!.actions[0]).toContain('Session 4242');
    expect(f!.actions[0]).toContain('SELECT pg_terminate_backend(4242);');
    expect(f!.actions[0]).toContain('LOCK TABLE orders');
    expect(f!.actions.join(' ')).toContain('pg_cancel_backend(6001)');
    expect(f!.actions.join(' ')).not.toContain('(5001)');
  });

  it('speaks MySQL to MySQL', () => {
    const f = dbSlow(ev(database({ ...locked, kind: 'mysql' }), timingOut));
    expect(f!.actions[0]).toContain('KILL 4242;');
    expect(f!.actions.join(' ')).toContain('KILL QUERY 6001;');
  });

  it('rootBlockers: the head of a chain, else every blocker of a cycle', () => {
    expect(rootBlockers(locked)).toEqual([4242]);
    expect(
      rootBlockers(
        db({
          lock_waits: [
            { id: 1, seconds: 1, blocked_by: [2], lock: null, query: null },
            { id: 2, seconds: 1, blocked_by: [1], lock: null, query: null },
          ],
        }),
      ),
    ).toEqual([2, 1]);
  });

  it.each([
    {
      name: 'long queries only',
      e: ev(database(db({ long_queries: [locked.long_queries[2]!] })), timingOut),
      min: 0.75,
      says: 'pg_cancel_backend(6001)',
    },
    {
      name: 'p95 over threshold only',
      e: ev(database(db({ slow: true, p95_ms: 450 })), timingOut),
      min: 0.6,
      says: 'pg_stat_activity',
    },
    {
      name: 'queries time out after connecting',
      e: ev(database(db({ outcome: 'timeout', connect_ms: 3, p95_ms: null }))),
      min: 0.5,
      says: 'pg_stat_activity',
    },
  ])('$name → db_slow', ({ e, min, says }) => {
    const f = dbSlow(e);
    expect(f?.cause).toBe('db_slow');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    expect(f!.actions.join(' ')).toContain(says);
  });

  it.each([
    { name: 'quick database', e: ev(database(db()), timingOut) },
    {
      name: 'locks but the site serves fine',
      e: ev(database(locked), upstream(target(1)), proxy(proxySample({ 200: 5 }))),
    },
    { name: 'locks but the targets refuse', e: ev(database(locked), upstream(target(1, 'refused'))) },
    { name: 'saturated connections', e: ev(database({ ...locked, saturated: true }), timingOut) },
    { name: 'refused', e: ev(database(db({ outcome: 'refused', connect_ms: null })), timingOut) },
  ])('$name → no finding', ({ e }) => {
    expect(dbSlow(e)).toBeNull();
  });
});

describe('db_slow: a long query alone does not explain resets', () => {
  const reporting = db({
    long_queries: [{ id: 9, seconds: 40, user: 'report', state: 'active', wait: null, query: 'SELECT ?' }],
  });
  it('app resets after a deploy plus one 40 s reporting query → not db_slow', () => {
    expect(dbSlow(ev(upstream(target(1, 'reset')), database(reporting)))).toBeNull();
  });
  it('the same query while the app times out → db_slow', () => {
    expect(dbSlow(ev(upstream(target(1, 'timeout')), database(reporting)))?.cause).toBe('db_slow');
  });
});

describe('db_slow: a database that takes connections but does not answer is blocked, not gone', () => {
  it('login timed out after the TCP connection was taken → db_slow', () => {
    const blocked = db({ outcome: 'timeout', connect_ms: 0.3, p95_ms: null, connections: null });
    expect(dbSlow(ev(upstream(target(1, 'timeout')), database(blocked)))?.cause).toBe('db_slow');
  });
});
