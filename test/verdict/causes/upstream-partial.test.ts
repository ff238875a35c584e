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

  it('one address behind an answering name refuses → upstream_partial naming that address and the name', () => {
    const byAddress = [
      { address: '127.0.0.1', outcome: 'ok' as const, connect_ms: 0.4, error: null },
      { address: '127.0.0.2', outcome: 'refused' as const, connect_ms: null, error: 'connect ECONNREFUSED' },
    ];
    const named = target(8080, 'ok', {
      host: 'app.internal',
      addresses: ['127.0.0.1', '127.0.0.2'],
      status: 'warn',
      by_address: byAddress,
    });
    const alone = upstreamPartial(ev(upstream(named)));
    expect(alone).toMatchObject({ cause: 'upstream_partial', confidence: 0.7 });
    expect(alone!.summary).toContain('127.0.0.2:8080, an address of app.internal:8080');
    expect(alone!.actions[0]).toContain('out of the DNS records of app.internal');
    const logged = upstreamPartial(
      ev(upstream(named), proxy(proxyLogOf([['refused', 4, '127.0.0.2:8080']]))),
    );
    expect(logged?.confidence).toBeGreaterThanOrEqual(0.85);
    expect(logged!.summary).toContain('still receive traffic');
  });

  it.each([
    {
      name: 'a name whose every address answers',
      e: ev(
        upstream(
          target(8080, 'ok', {
            addresses: ['127.0.0.1', '127.0.0.2'],
            by_address: [
              { address: '127.0.0.1', outcome: 'ok', connect_ms: 0.4, error: null },
              { address: '127.0.0.2', outcome: 'ok', connect_ms: 0.5, error: null },
            ],
          }),
        ),
      ),
    },
    { name: 'all dead', e: ev(upstream(target(1, 'refused'), target(2, 'refused'))) },
    { name: 'all alive', e: ev(upstream(target(1), target(2))) },
    { name: 'one slow, not dead', e: ev(upstream(target(1), target(2, 'timeout'))) },
  ])('$name → no finding', ({ e }) => {
    expect(upstreamPartial(e)).toBeNull();
  });
});
