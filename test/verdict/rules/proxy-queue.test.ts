import { describe, expect, it } from 'vitest';
import { proxyQueue } from '../../../src/verdict/rules/proxy-queue.js';
import { ev, load, loadRow, proxy, proxySample, proxyStatsOf, verdictOf } from '../build.js';

const atLimit = { failure: 'queue_full' as const, gauges: { qcur: 0, scur: 1, slim: 1 } };
const queued = proxyStatsOf([
  { port: 8081, ...atLimit },
  { port: 8082, ...atLimit },
]);
const gateway503 = proxySample({ 503: 5 });

describe('proxy queue: every server at its maxconn', () => {
  it('servers idle: unknown, the limit and the idle CPU stated, both readings in the actions', () => {
    const f = proxyQueue(
      ev(proxy(gateway503, queued), load(loadRow('127.0.0.1:8081', 0.04), loadRow('127.0.0.1:8082', 0.05))),
    );
    expect(f).toMatchObject({ cause: 'unknown', confidence: 0.4 });
    expect(f!.summary).toContain('All 2 servers behind the proxy are at their connection limit (maxconn 1)');
    expect(f!.summary).toContain("the servers' CPU is 5%");
    expect(f!.actions.join(' ')).toContain('raise `maxconn`');
    expect(f!.actions.join(' ')).toContain('waits for');
  });

  it('no load evidence: unknown, saying the two look alike and how to tell', () => {
    const f = proxyQueue(ev(proxy(gateway503, queued)));
    expect(f).toMatchObject({ cause: 'unknown', confidence: 0.3 });
    expect(f!.summary).toContain('look alike');
    expect(f!.actions[0]).toContain("servers' CPU");
  });

  it('one of two at its limit', () => {
    const f = proxyQueue(ev(proxy(gateway503, proxyStatsOf([{ port: 8081, ...atLimit }, { port: 8082 }]))));
    expect(f!.summary).toContain('1 of 2 servers behind the proxy is at its connection limit (maxconn 1)');
  });

  it('servers over their target utilisation → not this rule to judge', () => {
    const warm = load(loadRow('127.0.0.1:8081', 0.8), loadRow('127.0.0.1:8082', 0.8));
    expect(proxyQueue(ev(proxy(gateway503, queued), warm))).toBeNull();
  });

  it('no server at its limit → no finding', () => {
    expect(proxyQueue(ev(proxy(gateway503, proxyStatsOf([{ port: 8081 }, { port: 8082 }]))))).toBeNull();
  });

  it('servers hot as well: saturation answers first, with its capacity (scale-up)', () => {
    const v = verdictOf(
      proxy(gateway503, queued),
      load(loadRow('127.0.0.1:8081', 0.97), loadRow('127.0.0.1:8082', 0.95)),
    );
    expect(v).toMatchObject({ cause: 'upstream_saturated', recommendation: 'scale-up' });
  });
});
