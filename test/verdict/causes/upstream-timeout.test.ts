import { describe, expect, it } from 'vitest';
import { upstreamTimeout } from '../../../src/verdict/causes/upstream-timeout.js';
import {
  database,
  db,
  ev,
  load,
  loadRow,
  proxy,
  proxyLogOf,
  proxySample,
  target,
  upstream,
} from '../build.js';

const slow = upstream(target(1, 'timeout'));

describe('upstream_timeout', () => {
  it.each([
    {
      name: 'probes time out, 504s, CPU idle',
      e: ev(slow, proxy(proxySample({ 504: 5 })), load(loadRow('a:1', 0.02))),
      min: 0.85,
      says: 'CPU at most 2%',
    },
    {
      name: 'probes time out, no load evidence: lower',
      e: ev(slow),
      min: 0.6,
      max: 0.6,
      says: '127.0.0.1:1',
    },
    {
      name: 'only the log and the 504s say so',
      e: ev(
        upstream(target(1)),
        proxy(proxySample({ 504: 3, 200: 2 }), proxyLogOf([['timeout', 8, '127.0.0.1:1']])),
        load(loadRow('a:1', 0.1)),
      ),
      min: 0.85,
      says: '504',
    },
    {
      name: 'the load check could not read the instances: doubtful',
      e: ev(slow, { name: 'load', status: 'error', summary: 'timed out', duration_ms: 1, evidence: [] }),
      min: 0.45,
      max: 0.45,
      says: 'too busy to answer',
    },
    {
      name: 'the database is quick: look elsewhere',
      e: ev(slow, database(db())),
      min: 0.6,
      says: 'answers in 1 ms',
    },
  ])('$name → upstream_timeout', ({ e, min, max, says }) => {
    const f = upstreamTimeout(e);
    expect(f?.cause).toBe('upstream_timeout');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max) expect(f!.confidence).toBeLessThanOrEqual(max);
    expect(`${f!.summary} ${f!.actions.join(' ')}`).toContain(says);
  });

  it.each([
    { name: 'CPU saturated: not a plain timeout', e: ev(slow, load(loadRow('a:1', 0.99))) },
    {
      name: 'connect timeouts are unreachability',
      e: ev(upstream(target(1, 'timeout', { connect_ms: null }))),
    },
    {
      name: 'timeouts in the log until 8 min ago, proxy fine now',
      e: ev(proxy(proxySample({ 200: 5 }), proxyLogOf([['timeout', 8, '127.0.0.1:1', undefined, [12, 8]]]))),
    },
    { name: 'healthy', e: ev(upstream(target(1))) },
  ])('$name → no finding', ({ e }) => {
    expect(upstreamTimeout(e)).toBeNull();
  });
});

describe("upstream_timeout names the app's own dependency that fails from here too", () => {
  it('a dependency timing out leads the actions', () => {
    const e = ev(
      upstream(
        target(1, 'timeout'),
        target(2, 'timeout', {
          role: 'dependency',
          host: 'auth.internal',
          port: 80,
          target: 'http://auth.internal/',
        }),
      ),
      proxy(proxySample({ 504: 5 })),
    );
    const f = upstreamTimeout(e);
    expect(f?.cause).toBe('upstream_timeout');
    expect(f!.summary).not.toContain('auth.internal');
    expect(f!.actions[0]).toContain("The app's own dependency auth.internal:80 times out");
  });
});
