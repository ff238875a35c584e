import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/checks/types.js';
import { suggestedInstances, targetUtilisation } from '../../src/verdict/capacity.js';
import { decide } from '../../src/verdict/engine.js';
import { FITS } from '../../src/verdict/trigger.js';
import { CAUSES, type Cause } from '../../src/verdict/types.js';
import {
  change,
  changesResult,
  database,
  db,
  load,
  loadRow,
  ONSET,
  proxy,
  proxyLogOf,
  proxySample,
  target,
  upstream,
} from './build.js';
import { endpoints, kubernetes, NEW, oomKilled, pod, rollingOut } from './k8s-build.js';

function verdict(...results: CheckResult<unknown>[]) {
  return decide({
    service: 'checkout',
    incident: 'P1',
    results: results as CheckResult[],
    durationMs: 12.4,
    onsetAt: ONSET,
  });
}

const locks = db({
  long_queries: [
    { id: 77, seconds: 60, user: 'm', state: 'idle in transaction', wait: null, query: 'LOCK TABLE t' },
  ],
  lock_waits: [{ id: 78, seconds: 20, blocked_by: [77], lock: 'relation', query: 'SELECT * FROM t' }],
});

describe('decide: every cause is reachable, with its recommendation', () => {
  const cases: [Cause, CheckResult<unknown>[]][] = [
    ['upstream_down', [upstream(target(1, 'refused')), proxy(proxySample({ 502: 5 }))]],
    ['upstream_partial', [upstream(target(1), target(2, 'refused')), proxy(proxySample({ 200: 3, 502: 2 }))]],
    [
      'proxy_misrouted',
      [upstream(target(1)), proxy(proxySample({ 502: 5 }), proxyLogOf([['refused', 5, '127.0.0.1:9']]))],
    ],
    ['dns_failure', [upstream(target(1, 'dns', { host: 'a.invalid' }))]],
    ['upstream_crash', [upstream(target(1, 'reset')), proxy(proxySample({ 502: 5 }))]],
    [
      'upstream_timeout',
      [upstream(target(1, 'timeout')), proxy(proxySample({ 504: 5 })), load(loadRow('a:1', 0.05))],
    ],
    [
      'upstream_saturated',
      [upstream(target(1, 'timeout')), proxy(proxySample({ 504: 5 })), load(loadRow('a:1', 0.99))],
    ],
    [
      'db_unavailable',
      [upstream(target(1, 'http_5xx')), database(db({ outcome: 'refused', connect_ms: null }))],
    ],
    ['db_slow', [upstream(target(1, 'timeout')), database(locks)]],
    [
      'db_saturated',
      [
        upstream(target(1, 'http_5xx')),
        database(
          db({ saturated: true, connections: { used: 20, max: 20, usable: 17, ratio: 1.176, by_state: {} } }),
        ),
      ],
    ],
    [
      'memory_leak',
      [
        proxy(proxySample({ 502: 5 })),
        kubernetes(endpoints(2), pod(1, NEW, {}, oomKilled(3)), rollingOut(14)),
      ],
    ],
    ['deploy_drain', [proxy(proxySample({ 502: 2, 200: 3 })), kubernetes(endpoints(2, 1), rollingOut(3))]],
    ['recovered', [upstream(target(1)), proxy(proxySample({ 200: 5 }))]],
    ['unknown', [upstream(target(1, 'http_5xx'))]],
  ];
  it('covers the contract table', () => {
    expect(cases.map(([c]) => c).sort()).toEqual(Object.keys(CAUSES).sort());
  });
  it.each(cases)('%s', (cause, results) => {
    const v = verdict(...results);
    expect(v.cause).toBe(cause);
    expect(v.recommendation).toBe(CAUSES[cause]);
    expect(v.confidence).toBeGreaterThan(0);
    expect(v.confidence).toBeLessThanOrEqual(1);
    expect(v.actions.length).toBeGreaterThan(0);
    expect(v.capacity !== null).toBe(CAUSES[cause] === 'scale-up');
    expect(v).toMatchObject({ service: 'checkout', incident: 'P1', duration_ms: 12, checks: results });
  });
});

describe('decide: precedence', () => {
  it.each<[string, CheckResult<unknown>[], Cause]>([
    [
      'contradiction beats upstream_down',
      [upstream(target(1, 'refused')), proxy(proxySample({ 200: 5 }))],
      'unknown',
    ],
    [
      'dns beats everything else the targets show',
      [upstream(target(1, 'dns'), target(2, 'refused'))],
      'dns_failure',
    ],
    [
      'a refusing database explains the app 503s',
      [upstream(target(1, 'http_5xx')), database(db({ outcome: 'refused', connect_ms: null }))],
      'db_unavailable',
    ],
    [
      'database locks explain the upstream timeouts',
      [
        upstream(target(1, 'timeout')),
        proxy(proxySample({ 504: 5 })),
        database(locks),
        load(loadRow('a:1', 0.02)),
      ],
      'db_slow',
    ],
    [
      "dead targets are not the database's fault",
      [upstream(target(1, 'refused')), database(locks)],
      'upstream_down',
    ],
    [
      'saturation beats the timeouts it causes',
      [upstream(target(1, 'timeout')), load(loadRow('a:1', 0.97))],
      'upstream_saturated',
    ],
    [
      'partial beats misrouting',
      [
        upstream(target(1), target(2, 'refused')),
        proxy(proxySample({ 502: 5 }), proxyLogOf([['refused', 5, '127.0.0.1:9']])),
      ],
      'upstream_partial',
    ],
    [
      'a crash beats a hot instance',
      [
        upstream(target(1, 'reset'), target(2), target(3)),
        load(loadRow('a', 0.99), loadRow('b', 0.01), loadRow('c', 0.01)),
      ],
      'upstream_crash',
    ],
    [
      'a recent deploy does not stop recovered',
      [upstream(target(1)), proxy(proxySample({ 200: 5 })), changesResult(change('deploy', 3))],
      'recovered',
    ],
  ])('%s', (_, results, cause) => {
    expect(verdict(...results).cause).toBe(cause);
  });
});

describe('decide: the unknown fallback', () => {
  it('no checks at all', () => {
    const v = verdict();
    expect(v).toMatchObject({
      cause: 'unknown',
      recommendation: 'investigate',
      trigger: null,
      capacity: null,
    });
    expect(v.summary).toMatch(/no checks/);
  });
  it('every check errored: says which, and never sounds sure', () => {
    const err: CheckResult = {
      name: 'upstream',
      status: 'error',
      summary: 'upstream check could not run: boom',
      duration_ms: 1,
      evidence: [],
    };
    const v = verdict(err);
    expect(v.cause).toBe('unknown');
    expect(v.confidence).toBeLessThan(0.5);
    expect(v.actions[0]).toContain('boom');
  });
  it('an errored database check is absent evidence, not a healthy database', () => {
    const err: CheckResult = {
      name: 'database',
      status: 'error',
      summary: 'DB_URL is not set',
      duration_ms: 1,
      evidence: [],
    };
    expect(verdict(upstream(target(1, 'http_5xx')), err).cause).toBe('unknown');
  });
});

describe('decide: trigger', () => {
  const crash = [upstream(target(1, 'reset')), proxy(proxySample({ 502: 5 }))];
  const misroute = [
    upstream(target(1)),
    proxy(proxySample({ 502: 5 }), proxyLogOf([['refused', 5, '127.0.0.1:9']])),
  ];

  it('a deploy in the window before a crash is the trigger; rolling it back comes first', () => {
    const d = change('deploy', 12, { ref: 'a1b2c3d4e5f6', summary: 'Bump the pool', author: 'Ana' });
    const v = verdict(...crash, changesResult(d));
    expect(v.trigger).toEqual({
      kind: 'deploy',
      ref: 'a1b2c3d4e5f6',
      summary: 'Bump the pool',
      author: 'Ana',
      at: d.at,
      minutes_before_onset: 12,
    });
    expect(v.actions[0]).toBe(
      'Roll back deploy a1b2c3d4e5f6 (Bump the pool, by Ana, 12 min before the 502s began): `git revert a1b2c3d4e5f6`, then redeploy or reload.',
    );
  });

  it.each<[string, CheckResult<unknown>[], ReturnType<typeof change>[], string | null]>([
    ['config change fits a misroute', misroute, [change('config', 5)], 'c000005'],
    ['a deploy does not fit a misroute', misroute, [change('deploy', 5)], null],
    [
      'the fitting change wins over a newer unfitting one',
      misroute,
      [change('deploy', 2), change('config', 20)],
      'c000020',
    ],
    ['the newest fitting change wins', crash, [change('deploy', 40), change('deploy', 10)], 'd000010'],
    ['a proxy config change does not fit a crash (red herring)', crash, [change('config', 5)], null],
    ['a change after onset is never the trigger', crash, [change('deploy', -3)], null],
    [
      'a docs-only commit is never the trigger',
      crash,
      [change('deploy', 5, { paths: ['docs/runbook.md', 'README.md'] })],
      null,
    ],
    [
      'a commit touching docs and code still counts',
      crash,
      [change('deploy', 5, { paths: ['docs/a.md', 'src/app.js'] })],
      'd000005',
    ],
    [
      'saturation has no trigger',
      [upstream(target(1, 'timeout')), load(loadRow('a', 0.99))],
      [change('deploy', 5)],
      null,
    ],
    ['recovered has no trigger', [upstream(target(1))], [change('deploy', 5)], null],
    [
      'a stopped database fits a config change, not an app deploy',
      [upstream(target(1, 'http_5xx')), database(db({ outcome: 'refused', connect_ms: null }))],
      [change('deploy', 3), change('config', 9)],
      'c000009',
    ],
  ])('%s', (_, results, items, ref) => {
    const v = verdict(...results, changesResult(...items));
    expect(v.trigger?.ref ?? null).toBe(ref);
    if (ref) expect(v.actions[0]).toMatch(new RegExp(`^Roll back (deploy|config change) ${ref} `));
    else expect(v.actions[0]).not.toMatch(/^Roll back/);
  });

  it('the playbook window bounds the trigger', () => {
    const results = [...crash, changesResult(change('deploy', 90))];
    expect(
      decide({
        service: 's',
        incident: null,
        results: results as CheckResult[],
        durationMs: 1,
        onsetAt: ONSET,
        windowMinutes: 60,
      }).trigger,
    ).toBeNull();
    expect(
      decide({
        service: 's',
        incident: null,
        results: results as CheckResult[],
        durationMs: 1,
        onsetAt: ONSET,
        windowMinutes: 120,
      }).trigger?.ref,
    ).toBe('d000090');
  });

  it('every cause has a fit entry', () => {
    expect(Object.keys(FITS).sort()).toEqual(Object.keys(CAUSES).sort());
  });
});

describe('decide: capacity', () => {
  it('upstream: instances × mean utilisation ÷ target, rounded up, stated in the first action', () => {
    const v = verdict(
      upstream(target(1, 'timeout'), target(2, 'timeout')),
      load(loadRow('a', 0.96), loadRow('b', 0.9)),
    );
    // mean 0.93, threshold 0.85 → target 0.70; 2 × 0.93 ÷ 0.70 = 2.66 → 3
    expect(v.capacity).toEqual({
      resource: 'cpu',
      instances: 2,
      utilisation: 0.93,
      target_utilisation: 0.7,
      suggested_instances: 3,
    });
    expect(v.actions[0]).toBe(
      'Scale out from 2 to 3 instances: 2 × 93% mean cpu ÷ 70% target = 2.66, rounded up.',
    );
  });

  it('the resource under most strain is the one sized', () => {
    const rows = [loadRow('a', 0.3, { memory: 0.99 }), loadRow('b', 0.3, { memory: 0.95 })];
    const v = verdict(upstream(target(1, 'http_5xx')), load(...rows));
    expect(v.capacity).toMatchObject({
      resource: 'memory',
      instances: 2,
      utilisation: 0.97,
      suggested_instances: 3,
    });
  });

  it('a lower threshold lowers the target', () => {
    const rows = [loadRow('a', 0.9, { thresholds: { cpu: 0.6, memory: 0.9 } })];
    const v = verdict(upstream(target(1, 'timeout')), load(...rows));
    // target = 0.6 − 0.15 = 0.45; 1 × 0.9 ÷ 0.45 = 2
    expect(v.capacity).toMatchObject({ target_utilisation: 0.45, suggested_instances: 2 });
  });

  it('database connections: suggested slots = ceil(used ÷ target)', () => {
    const v = verdict(
      upstream(target(1, 'http_5xx')),
      database(
        db({ saturated: true, connections: { used: 19, max: 20, usable: 17, ratio: 1.118, by_state: {} } }),
      ),
    );
    // threshold 0.9 → target 0.70; 19 ÷ 0.7 = 27.1 → 28
    expect(v.capacity).toEqual({
      resource: 'connections',
      instances: 17,
      utilisation: 1.118,
      target_utilisation: 0.7,
      suggested_instances: 28,
    });
    expect(v.actions[0]).toContain('from 17 to at least 28 usable connections');
  });

  it('no connection figures: no capacity, still the saturated verdict', () => {
    const v = verdict(
      upstream(target(1, 'http_5xx')),
      database(db({ outcome: 'too_many_connections', connect_ms: null, connections: null, saturated: true })),
    );
    expect(v.cause).toBe('db_saturated');
    expect(v.capacity).toBeNull();
  });

  it('targetUtilisation: threshold less 15 points, at most 70%', () => {
    expect([0.95, 0.85, 0.8, 0.6, 0.2].map(targetUtilisation)).toEqual([0.7, 0.7, 0.65, 0.45, 0.1]);
  });

  it('suggestedInstances is never fewer than today and brings utilisation to the target', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.double({ min: 0.01, max: 4, noNaN: true }),
        fc.double({ min: 0.1, max: 0.7, noNaN: true }),
        (n, u, t) => {
          const s = suggestedInstances(n, u, t);
          expect(s).toBeGreaterThanOrEqual(n);
          if (s > n) {
            expect((n * u) / s).toBeLessThanOrEqual(t + 1e-9);
            expect((n * u) / (s - 1)).toBeGreaterThan(t - 1e-6);
          }
        },
      ),
    );
    expect(suggestedInstances(3, 0.7, 0.7)).toBe(3);
  });
});
