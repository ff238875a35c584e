import { describe, expect, it } from 'vitest';
import { upstreamDown } from '../../../src/verdict/causes/upstream-down.js';
import { ev, proxy, proxyLogOf, proxySample, target, upstream } from '../build.js';

describe('upstream_down', () => {
  it.each([
    {
      name: 'every target refuses, the proxy gives 502',
      e: ev(upstream(target(1, 'refused'), target(2, 'refused')), proxy(proxySample({ 502: 5 }))),
      min: 0.9,
      ports: [1, 2],
    },
    {
      name: 'every target refuses, no proxy evidence',
      e: ev(upstream(target(1, 'refused'))),
      min: 0.8,
      max: 0.85,
      ports: [1],
    },
    {
      name: 'connect timeouts (never connected)',
      e: ev(
        upstream(target(3, 'timeout', { connect_ms: null })),
        proxy(proxyLogOf([['connect_timeout', 4, '127.0.0.1:3']])),
      ),
      min: 0.7,
      max: 0.8,
      ports: [3],
    },
  ])('$name → upstream_down naming each port', ({ e, min, max, ports }) => {
    const f = upstreamDown(e);
    expect(f?.cause).toBe('upstream_down');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max) expect(f!.confidence).toBeLessThanOrEqual(max);
    for (const p of ports) expect(f!.actions.join(' ')).toContain(`127.0.0.1:${p}`);
  });

  it.each([
    { name: 'one alive', e: ev(upstream(target(1, 'refused'), target(2))) },
    { name: 'connected, then timed out: slow, not down', e: ev(upstream(target(1, 'timeout'))) },
    { name: 'connected, then reset: a crash', e: ev(upstream(target(1, 'reset'))) },
    { name: 'answers 503', e: ev(upstream(target(1, 'http_5xx'))) },
    { name: 'no targets', e: ev() },
  ])('$name → no finding', ({ e }) => {
    expect(upstreamDown(e)).toBeNull();
  });
});
