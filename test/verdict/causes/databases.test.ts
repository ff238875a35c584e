// A playbook that lists several databases: the rules judge the worst one and name it.

import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/checks/types.js';
import { database as worstDatabase } from '../../../src/verdict/evidence.js';
import {
  databases,
  db,
  ev,
  load,
  loadRow,
  proxy,
  proxySample,
  target,
  upstream,
  verdictOf,
} from '../build.js';

const orders = db({ name: 'orders', target: '10.0.2.5:5432/shop' });
const cache = db({ name: 'sessions', kind: 'redis', target: '10.0.2.9:6379/0', connections: null });
const refusing = (e: typeof orders) =>
  db({
    ...e,
    outcome: 'refused',
    error: 'connect ECONNREFUSED',
    connect_ms: null,
    p50_ms: null,
    p95_ms: null,
  });
const blocked = (e: typeof orders) =>
  db({
    ...e,
    outcome: 'timeout',
    error: 'no connection within 1000 ms',
    connect_ms: 0.3,
    p50_ms: null,
    p95_ms: null,
  });
const locked = db({
  ...orders,
  lock_waits: [
    {
      id: 88,
      seconds: 30,
      blocked_by: [77],
      lock: 'RECORD X on `shop`.`orders`',
      query: 'UPDATE orders SET hits = hits + ? WHERE id = ?',
    },
  ],
  long_queries: [
    {
      id: 88,
      seconds: 30,
      user: 'app',
      state: 'Query',
      wait: 'Updating',
      query: 'UPDATE orders SET hits = hits + ? WHERE id = ?',
    },
  ],
});
const full = db({
  ...orders,
  connections: { used: 97, max: 100, usable: 97, ratio: 1, by_state: { active: 80, idle: 17 } },
  saturated: true,
  busy_sessions: 79,
});

/** The site times out behind nginx, the app idle: what a blocked dependency looks like from outside. */
const timingOut = [
  proxy(proxySample({ '504': 5 })),
  upstream(target(8080, 'timeout')),
  load(loadRow('127.0.0.1:8080', 0.04)),
];

describe('several databases: the worst explains the incident and is named', () => {
  const cases: {
    name: string;
    dbs: ReturnType<typeof db>[];
    site: CheckResult<unknown>[];
    cause: string;
    named: string;
    fine?: string;
  }[] = [
    {
      name: 'the cache refuses, the orders database is fine',
      dbs: [orders, refusing(cache)],
      site: [proxy(proxySample({ '502': 5 })), upstream(target(8080, 'http_5xx'))],
      cause: 'db_unavailable',
      named: 'sessions (10.0.2.9:6379/0)',
      fine: 'orders is fine',
    },
    {
      name: 'the orders database refuses, listed first, the cache is fine',
      dbs: [refusing(orders), cache],
      site: [proxy(proxySample({ '502': 5 })), upstream(target(8080, 'http_5xx'))],
      cause: 'db_unavailable',
      named: 'orders (10.0.2.5:5432/shop)',
      fine: 'sessions is fine',
    },
    {
      name: 'the cache is blocked (accepts, never answers), the orders database is fine',
      dbs: [orders, blocked(cache)],
      site: timingOut,
      cause: 'db_slow',
      named: 'sessions (10.0.2.9:6379/0)',
      fine: 'orders is fine',
    },
    {
      name: 'the orders database waits on a row lock, the cache is fine',
      dbs: [cache, locked],
      site: timingOut,
      cause: 'db_slow',
      named: 'orders (10.0.2.5:5432/shop)',
      fine: 'sessions is fine',
    },
    {
      name: 'the orders database is out of connections, the cache is fine',
      dbs: [cache, full],
      site: timingOut,
      cause: 'db_saturated',
      named: 'orders (10.0.2.5:5432/shop)',
      fine: 'sessions is fine',
    },
    {
      name: 'one refuses, the other is blocked: the refusing one, the other said',
      dbs: [blocked(orders), refusing(cache)],
      site: timingOut,
      cause: 'db_unavailable',
      named: 'sessions (10.0.2.9:6379/0)',
      fine: 'also in trouble: orders',
    },
  ];
  for (const c of cases)
    it(`${c.name}: ${c.cause} naming it`, () => {
      const v = verdictOf(...c.site, databases(...c.dbs));
      expect(v.cause).toBe(c.cause);
      expect(v.summary).toContain(c.named);
      if (c.fine) expect(v.summary).toContain(c.fine);
    });

  it('every database healthy: none is blamed, the timeout stays the app’s, the worst one’s figure is quoted', () => {
    const slowish = db({ ...cache, p95_ms: 4 });
    const v = verdictOf(...timingOut, databases(orders, slowish));
    expect(v.cause).toBe('upstream_timeout');
    expect(v.actions.join(' ')).toContain('answers in');
  });

  it('the worst is picked by state, not by order; a tie keeps the first listed', () => {
    expect(worstDatabase(ev(databases(orders, cache)))?.name).toBe('orders');
    expect(worstDatabase(ev(databases(orders, locked)))?.name).toBe('orders');
    expect(worstDatabase(ev(databases(blocked(cache), full)))?.name).toBe('orders');
    expect(worstDatabase(ev(databases(full, refusing(cache))))?.name).toBe('sessions');
    expect(worstDatabase(ev(databases(cache, locked)))?.lock_waits).toHaveLength(1);
  });

  it('one database, the original form: unchanged, no list of others in the summary', () => {
    const v = verdictOf(...timingOut, databases(locked));
    expect(v.cause).toBe('db_slow');
    expect(v.summary).not.toContain('is fine');
  });
});
