import { describe, expect, it } from 'vitest';
import { dnsFailure } from '../../../src/verdict/causes/dns-failure.js';
import { ev, proxy, proxyLogOf, proxySample, target, upstream } from '../build.js';

const dead = (host: string) => target(8080, 'dns', { host, target: `http://${host}:8080/` });

describe('dns_failure', () => {
  it.each([
    {
      name: 'every target unresolvable',
      e: ev(upstream(dead('api.invalid'))),
      min: 0.8,
      name_: 'api.invalid',
    },
    {
      name: 'one of two unresolvable',
      e: ev(upstream(dead('api.invalid'), target(2))),
      min: 0.7,
      max: 0.8,
      name_: 'api.invalid',
    },
    {
      name: 'proxy log dominated by dns errors while 502s happen, targets fine',
      e: ev(
        upstream(target(2)),
        proxy(
          proxySample({ 502: 5 }),
          proxyLogOf([
            ['dns', 12, 'backend.invalid'],
            ['refused', 1, '127.0.0.1:9'],
          ]),
        ),
      ),
      min: 0.65,
      name_: 'backend.invalid',
    },
    {
      name: 'probes and the log agree',
      e: ev(
        upstream(dead('api.invalid')),
        proxy(proxySample({ 502: 5 }), proxyLogOf([['dns', 3, 'api.invalid']])),
      ),
      min: 0.9,
      name_: 'api.invalid',
    },
  ])('$name → dns_failure naming the name', ({ e, min, max, name_ }) => {
    const f = dnsFailure(e);
    expect(f?.cause).toBe('dns_failure');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max) expect(f!.confidence).toBeLessThan(max);
    expect(f!.summary).toContain(name_);
    expect(f!.actions[0]).toContain(`dig ${name_}`);
  });

  it.each([
    { name: 'all targets fine', e: ev(upstream(target(1), target(2))) },
    {
      name: 'dns lines in the log but the proxy serves 200s now',
      e: ev(proxy(proxySample({ 200: 5 }), proxyLogOf([['dns', 4, 'x.invalid']]))),
    },
    {
      name: 'log dominated by refused',
      e: ev(
        proxy(
          proxySample({ 502: 5 }),
          proxyLogOf([
            ['refused', 9, '127.0.0.1:1'],
            ['dns', 2, 'x.invalid'],
          ]),
        ),
      ),
    },
    { name: 'no evidence', e: ev() },
  ])('$name → no finding', ({ e }) => {
    expect(dnsFailure(e)).toBeNull();
  });
});
