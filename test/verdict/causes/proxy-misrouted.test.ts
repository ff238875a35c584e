import { describe, expect, it } from 'vitest';
import { proxyMisrouted } from '../../../src/verdict/causes/proxy-misrouted.js';
import { change, changesResult, ev, proxy, proxyLogOf, proxySample, target, upstream } from '../build.js';

const healthy = upstream(target(8081), target(8082));

describe('proxy_misrouted', () => {
  it.each([
    {
      name: 'proxy refused at a port no target has',
      e: ev(healthy, proxy(proxySample({ 502: 5 }), proxyLogOf([['refused', 7, '10.0.9.9:9999']]))),
      min: 0.85,
    },
    {
      name: 'log only, no sample',
      e: ev(healthy, proxy(proxyLogOf([['refused', 7, '10.0.9.9:9999']]))),
      min: 0.75,
      max: 0.85,
    },
    {
      name: 'mostly the wrong port, a few to a target',
      e: ev(
        healthy,
        proxy(
          proxySample({ 502: 5 }),
          proxyLogOf([
            ['refused', 7, '10.0.9.9:9999'],
            ['reset', 2, '127.0.0.1:8081'],
          ]),
        ),
      ),
      min: 0.8,
    },
  ])('$name → proxy_misrouted naming the wrong and the right address', ({ e, min, max }) => {
    const f = proxyMisrouted(e);
    expect(f?.cause).toBe('proxy_misrouted');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max) expect(f!.confidence).toBeLessThanOrEqual(max);
    expect(f!.summary).toContain('10.0.9.9:9999');
    expect(f!.actions[0]).toContain('127.0.0.1:8081');
    expect(f!.actions[0]).toContain('nginx -s reload');
  });

  it('a target named by its host name matches its resolved address', () => {
    const named = upstream(target(8081, 'ok', { host: 'localhost', target: 'http://localhost:8081/' }));
    expect(
      proxyMisrouted(
        ev(named, proxy(proxySample({ 502: 5 }), proxyLogOf([['refused', 4, '127.0.0.1:8081']]))),
      ),
    ).toBeNull();
  });

  it.each([
    {
      name: 'the log names only targets',
      e: ev(healthy, proxy(proxySample({ 502: 5 }), proxyLogOf([['refused', 7, '127.0.0.1:8081']]))),
    },
    {
      name: 'a target is dead',
      e: ev(
        upstream(target(8081, 'refused')),
        proxy(proxySample({ 502: 5 }), proxyLogOf([['refused', 7, '127.0.0.1:9999']])),
      ),
    },
    {
      name: 'no 502s now',
      e: ev(healthy, proxy(proxySample({ 200: 5 }), proxyLogOf([['refused', 7, '127.0.0.1:9999']]))),
    },
    {
      name: 'the wrong address is a minority',
      e: ev(
        healthy,
        proxy(
          proxySample({ 502: 5 }),
          proxyLogOf([
            ['refused', 1, '127.0.0.1:9999'],
            ['timeout', 6, '127.0.0.1:8082'],
          ]),
        ),
      ),
    },
    {
      name: 'the log names an upstream group, not host:port',
      e: ev(healthy, proxy(proxySample({ 502: 5 }), proxyLogOf([['no_live_upstreams', 7, 'backend']]))),
    },
  ])('$name → no finding', ({ e }) => {
    expect(proxyMisrouted(e)).toBeNull();
  });
});

describe('proxy_misrouted needs several lines, a share of the traffic, and not just another port', () => {
  it('one line naming a service IP → no finding', () => {
    expect(
      proxyMisrouted(
        ev(healthy, proxy(proxySample({ 502: 5 }), proxyLogOf([['refused', 1, '10.96.0.12:80']]))),
      ),
    ).toBeNull();
  });
  it('a few wrong lines among many errors, nothing sampled → no finding', () => {
    const e = ev(
      healthy,
      proxy(
        proxyLogOf([
          ['refused', 3, '10.96.0.12:80'],
          ['timeout', 2, '127.0.0.1:8081'],
          ['other', 4, null],
        ]),
      ),
    );
    expect(proxyMisrouted(e)).toBeNull();
  });
  it('health answered on a management port while the serving port refuses, no config change → unknown', () => {
    const f = proxyMisrouted(
      ev(
        upstream(target(8081)),
        proxy(proxySample({ 502: 5 }), proxyLogOf([['refused', 6, '127.0.0.1:8080']])),
      ),
    );
    expect(f?.cause).toBe('unknown');
    expect(f!.confidence).toBeLessThanOrEqual(0.5);
    expect(f!.summary).toContain('another port');
  });
  it('the same with a proxy config change in the window → proxy_misrouted', () => {
    const f = proxyMisrouted(
      ev(
        upstream(target(8081)),
        proxy(proxySample({ 502: 5 }), proxyLogOf([['refused', 6, '127.0.0.1:8080']])),
        changesResult(change('config', 10)),
      ),
    );
    expect(f?.cause).toBe('proxy_misrouted');
  });
});
