import { describe, expect, it } from 'vitest';
import { dbSaturated } from '../../../src/verdict/causes/db-saturated.js';
import { database, db, ev, proxy, proxySample, target, upstream } from '../build.js';

const full = db({
  saturated: true,
  connections: {
    used: 19,
    max: 20,
    usable: 17,
    ratio: 1.118,
    by_state: { 'idle in transaction': 12, active: 7 },
  },
});

describe('db_saturated', () => {
  it.each([
    {
      name: 'connections at the limit, site failing',
      e: ev(database(full), upstream(target(1, 'http_5xx'))),
      min: 0.85,
      says: ['19 of 17', 'pg_stat_activity', "state = 'idle in transaction'"],
    },
    {
      name: 'too many clients, no figures',
      e: ev(
        database(
          db({ outcome: 'too_many_connections', connect_ms: null, connections: null, saturated: true }),
        ),
        proxy(proxySample({ 502: 3 })),
      ),
      min: 0.75,
      says: ['too many clients'],
    },
    {
      name: 'mysql at the limit',
      e: ev(database(db({ ...full, kind: 'mysql', connections: { ...full.connections!, by_state: {} } }))),
      min: 0.75,
      says: ['information_schema.PROCESSLIST'],
    },
    {
      name: 'saturated while the site serves fine: doubtful',
      e: ev(database(full), upstream(target(1)), proxy(proxySample({ 200: 5 }))),
      min: 0.5,
      max: 0.6,
      says: ['17'],
    },
  ])('$name → db_saturated', ({ e, min, max, says }) => {
    const f = dbSaturated(e);
    expect(f?.cause).toBe('db_saturated');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max) expect(f!.confidence).toBeLessThanOrEqual(max);
    for (const s of says) expect(`${f!.summary} ${f!.actions.join(' ')}`).toContain(s);
  });

  it.each([
    { name: 'room left', e: ev(database(db()), upstream(target(1, 'http_5xx'))) },
    {
      name: 'targets refuse: the database is not why',
      e: ev(database(full), upstream(target(1, 'refused'))),
    },
    { name: 'refused database', e: ev(database(db({ outcome: 'refused' }))) },
  ])('$name → no finding', ({ e }) => {
    expect(dbSaturated(e)).toBeNull();
  });
});

describe('db_saturated: idle slots are not load; CPU is', () => {
  const resets = upstream(target(1, 'reset'));
  it('91% of slots held, nearly all idle pooled sessions, app resets → not db_saturated', () => {
    const e = ev(
      resets,
      database(
        db({
          saturated: true,
          busy_sessions: 2,
          connections: { used: 91, max: 100, usable: 100, ratio: 0.91, by_state: { active: 3, idle: 88 } },
        }),
      ),
    );
    expect(dbSaturated(e)).toBeNull();
  });
  it('the same slots doing work → db_saturated', () => {
    const e = ev(
      upstream(target(1, 'timeout')),
      database(
        db({
          saturated: true,
          busy_sessions: 80,
          connections: { used: 91, max: 100, usable: 100, ratio: 0.91, by_state: { active: 81, idle: 10 } },
        }),
      ),
    );
    expect(dbSaturated(e)?.cause).toBe('db_saturated');
  });
  it('more sessions running than the database has cores → db_saturated by CPU', () => {
    const e = ev(
      upstream(target(1, 'timeout')),
      database(db({ busy_sessions: 9, cores: 4, slow: true, p95_ms: 900 })),
    );
    const f = dbSaturated(e);
    expect(f?.cause).toBe('db_saturated');
    expect(f?.summary).toContain('out of CPU: 9 sessions run at once on its 4 cores');
  });
  it('fewer sessions running than cores → not saturated', () => {
    const e = ev(upstream(target(1, 'timeout')), database(db({ busy_sessions: 2, cores: 4 })));
    expect(dbSaturated(e)).toBeNull();
  });
});
