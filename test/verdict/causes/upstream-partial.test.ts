import { describe, expect, it } from 'vitest';
import { upstreamPartial } from '../../../src/verdict/causes/upstream-partial.js';
import { ev, proxy, proxyLogOf, proxySample, target, upstream } from '../build.js';

describe('upstream_partial', () => {
  it.each([
    {
      name: 'one of three refuses, proxy gives some 502s',
      e: ev(upstream(target(1), target(2, 'refused'), target(3)), proxy(proxySample({ 200: 3, 502: 2 }))),
      min: 0.85,
      traffic: true,
    },
    {
      name: 'the log names the dead one',
      e: ev(upstream(target(1), target(2, 'refused')), proxy(proxyLogOf([['refused', 5, '127.0.0.1:2']]))),
      min: 0.85,
      traffic: true,
    },
    {
      name: 'no proxy evidence',
      e: ev(upstream(target(1), target(2, 'refused'))),
      min: 0.7,
      max: 0.75,
      traffic: false,
    },
    {
      name: 'the proxy serves cleanly: already out of rotation',
      e: ev(upstream(target(1), target(2, 'refused')), proxy(proxySample({ 200: 5 }))),
      min: 0.55,
      max: 0.65,
      traffic: false,
    },
  ])('$name → upstream_partial naming the dead one only', ({ e, min, max, traffic }) => {
    const f = upstreamPartial(e);
    expect(f?.cause).toBe('upstream_partial');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max) expect(f!.confidence).toBeLessThanOrEqual(max);
    expect(f!.actions[0]).toContain('127.0.0.1:2');
    expect(f!.actions.join(' ')).not.toContain('127.0.0.1:1 ');
    expect(f!.summary.includes('still receive traffic')).toBe(traffic);
  });

  it.each([
    { name: 'all dead', e: ev(upstream(target(1, 'refused'), target(2, 'refused'))) },
    { name: 'all alive', e: ev(upstream(target(1), target(2))) },
    { name: 'one slow, not dead', e: ev(upstream(target(1), target(2, 'timeout'))) },
  ])('$name → no finding', ({ e }) => {
    expect(upstreamPartial(e)).toBeNull();
  });
});
