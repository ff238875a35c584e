import { describe, expect, it } from 'vitest';
import { upstreamCrash } from '../../../src/verdict/causes/upstream-crash.js';
import { ev, proxy, proxyLogOf, proxySample, target, upstream } from '../build.js';

describe('upstream_crash', () => {
  it.each([
    {
      name: 'targets reset and the log agrees',
      e: ev(
        upstream(target(1, 'reset')),
        proxy(proxySample({ 502: 5 }), proxyLogOf([['reset', 5, '127.0.0.1:1']])),
      ),
      min: 0.9,
      where: '127.0.0.1:1',
    },
    {
      name: 'targets reset, no proxy',
      e: ev(upstream(target(1, 'reset'), target(2, 'reset'))),
      min: 0.8,
      max: 0.8,
      where: '127.0.0.1:2',
    },
    {
      name: 'log says premature close, 502s now',
      e: ev(
        upstream(target(1)),
        proxy(proxySample({ 502: 2, 200: 3 }), proxyLogOf([['premature_close', 9, '127.0.0.1:1']])),
      ),
      min: 0.7,
      max: 0.8,
      where: '127.0.0.1:1',
    },
  ])('$name → upstream_crash', ({ e, min, max, where }) => {
    const f = upstreamCrash(e);
    expect(f?.cause).toBe('upstream_crash');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max) expect(f!.confidence).toBeLessThanOrEqual(max);
    expect(f!.actions[0]).toContain(where);
  });

  it.each([
    { name: 'refused is not a crash', e: ev(upstream(target(1, 'refused'))) },
    {
      name: 'crash lines until 6 min ago, proxy fine now',
      e: ev(proxy(proxySample({ 200: 5 }), proxyLogOf([['reset', 9, '127.0.0.1:1', undefined, [10, 6]]]))),
    },
    {
      name: 'timeouts dominate the log',
      e: ev(
        proxy(
          proxySample({ 504: 5 }),
          proxyLogOf([
            ['timeout', 9, '127.0.0.1:1'],
            ['reset', 1, '127.0.0.1:1'],
          ]),
        ),
      ),
    },
  ])('$name → no finding', ({ e }) => {
    expect(upstreamCrash(e)).toBeNull();
  });
});
