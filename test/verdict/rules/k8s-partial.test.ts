import { describe, expect, it } from 'vitest';
import { k8sPartial } from '../../../src/verdict/rules/k8s-partial.js';
import { ev, proxy, proxyLogOf, proxySample } from '../build.js';
import { endpoints, kubernetes } from '../k8s-build.js';

// endpoints(ready, terminating, notReady): not-ready endpoints are 10.244.0.200, .201, …
describe('k8s upstream_partial (the proxy sends to not-ready pods)', () => {
  it('the log names a not-ready pod IP while others are ready, 502s now', () => {
    const f = k8sPartial(
      ev(
        proxy(proxySample({ 502: 2, 200: 3 }), proxyLogOf([['refused', 6, '10.244.0.200:8080']])),
        kubernetes(endpoints(2, 0, 1)),
      ),
    );
    expect(f?.cause).toBe('upstream_partial');
    expect(f!.confidence).toBeGreaterThanOrEqual(0.85);
    expect(f!.summary).toContain(
      "1 of 3 endpoints of Service checkout-api fail readiness, and the proxy's errors name them (10.244.0.200:8080)",
    );
  });

  it.each([
    {
      name: 'not-ready pods the log does not name: Kubernetes routes around them',
      e: ev(
        proxy(proxySample({ 502: 2 }), proxyLogOf([['refused', 6, '10.9.9.9:8080']])),
        kubernetes(endpoints(2, 0, 1)),
      ),
    },
    {
      name: 'the log names a ready pod',
      e: ev(proxy(proxyLogOf([['reset', 6, '10.244.0.0:8080']])), kubernetes(endpoints(2, 0, 1))),
    },
    {
      name: 'none ready: that is down',
      e: ev(proxy(proxyLogOf([['refused', 6, '10.244.0.200:8080']])), kubernetes(endpoints(0, 0, 2))),
    },
    {
      name: 'the named pod is terminating, not failing readiness (a drain)',
      e: ev(proxy(proxyLogOf([['refused', 6, '10.244.0.100:8080']])), kubernetes(endpoints(2, 1, 0))),
    },
  ])('$name → null', ({ e }) => {
    expect(k8sPartial(e)).toBeNull();
  });
});
