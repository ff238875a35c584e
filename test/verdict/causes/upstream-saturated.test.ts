import { describe, expect, it } from 'vitest';
import { upstreamSaturated } from '../../../src/verdict/causes/upstream-saturated.js';
import { hotInstance } from '../../../src/verdict/rules/hot-instance.js';
import { ev, load, loadRow, proxy, proxySample, target, upstream } from '../build.js';

const slow = upstream(target(1, 'timeout'), target(2, 'timeout'));

describe('upstream_saturated', () => {
  it.each([
    {
      name: 'both instances hot, probes time out, 504s',
      e: ev(slow, proxy(proxySample({ 504: 5 })), load(loadRow('a:1', 0.97), loadRow('b:1', 0.93))),
      min: 0.85,
    },
    {
      name: 'one instance, hot, 502s',
      e: ev(upstream(target(1, 'http_5xx')), proxy(proxySample({ 502: 5 })), load(loadRow('a:1', 0.99))),
      min: 0.85,
    },
    { name: 'memory over threshold', e: ev(slow, load(loadRow('a:1', 0.2, { memory: 0.97 }))), min: 0.8 },
    {
      name: 'hot but no 502 now: doubtful',
      e: ev(upstream(target(1)), proxy(proxySample({ 200: 5 })), load(loadRow('a:1', 0.99))),
      min: 0.4,
      max: 0.5,
    },
  ])('$name → upstream_saturated', ({ e, min, max }) => {
    const f = upstreamSaturated(e);
    expect(f?.cause).toBe('upstream_saturated');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max) expect(f!.confidence).toBeLessThanOrEqual(max);
    expect(f!.summary).toMatch(/a:1 (cpu|memory) 9\d%/);
  });

  it.each([
    { name: 'idle fleet', e: ev(slow, load(loadRow('a:1', 0.1), loadRow('b:1', 0.2))) },
    {
      name: 'one hot instance of three: mean under target',
      e: ev(slow, load(loadRow('a:1', 0.99), loadRow('b:1', 0.05), loadRow('c:1', 0.05))),
    },
    { name: 'no load evidence', e: ev(slow) },
    {
      name: 'load rows that errored',
      e: ev(slow, load(loadRow('a:1', null, { error: 'refused', status: 'error' }))),
    },
  ])('$name → no finding', ({ e }) => {
    expect(upstreamSaturated(e)).toBeNull();
  });
});

describe('a partially saturated fleet (hot-instance)', () => {
  it('one hot instance of three, mean under target → unknown, inspect the hot one, not scale-up', () => {
    const f = hotInstance(
      ev(
        upstream(target(1), target(2), target(3)),
        load(loadRow('a:1', 0.99), loadRow('b:1', 0.05), loadRow('c:1', 0.1)),
      ),
    );
    expect(f?.cause).toBe('unknown');
    expect(f!.summary).toContain('a:1 cpu 99%');
    expect(f!.actions[0]).toContain('Inspect a:1');
    expect(f!.actions.join(' ')).not.toMatch(/Scale out/);
  });

  it('one instance far above its peers but under the threshold (a runaway on a shared host) → unknown, inspect it', () => {
    const f = hotInstance(
      ev(
        upstream(target(1), target(2), target(3)),
        load(loadRow('a:1', 0.38), loadRow('b:1', 0.01), loadRow('c:1', 0.02)),
      ),
    );
    expect(f?.cause).toBe('unknown');
    expect(f!.summary).toContain('a:1 cpu 38% far above its 2 peers');
    expect(f!.actions[0]).toContain('Inspect a:1');
  });

  it.each([
    { name: 'the whole fleet is hot', e: ev(load(loadRow('a:1', 0.99), loadRow('b:1', 0.95))) },
    { name: 'nobody is hot', e: ev(load(loadRow('a:1', 0.5), loadRow('b:1', 0.5))) },
    {
      name: 'an idle fleet, one instance running a cron (9% against 1%)',
      e: ev(load(loadRow('a:1', 0.09), loadRow('b:1', 0.01), loadRow('c:1', 0.01))),
    },
    {
      name: 'an uneven but idle fleet (4% against 0.5%)',
      e: ev(load(loadRow('a:1', 0.04), loadRow('b:1', 0.005), loadRow('c:1', 0.005))),
    },
    {
      name: 'a busy fleet, one a little busier',
      e: ev(load(loadRow('a:1', 0.5), loadRow('b:1', 0.3), loadRow('c:1', 0.35))),
    },
  ])('$name → no finding', ({ e }) => {
    expect(hotInstance(e)).toBeNull();
  });
});
