import { describe, expect, it } from 'vitest';
import { k8sEndpointsDown } from '../../../src/verdict/rules/k8s-endpoints-down.js';
import { ev, proxy, proxySample } from '../build.js';
import { container, endpoints, kubernetes, pod, rollingOut, rollout } from '../k8s-build.js';

describe('k8s upstream_down (no ready endpoint)', () => {
  it.each([
    {
      name: 'all three failing readiness, 502s',
      e: ev(proxy(proxySample({ 502: 5 })), kubernetes(endpoints(0, 0, 3), rollout())),
      cause: 'upstream_down',
      min: 0.85,
      says: 'No endpoint of Service checkout-api is ready (0 of 3: 3 failing readiness)',
    },
    {
      name: 'no endpoints at all, no proxy evidence',
      e: ev(kubernetes(endpoints(0), rollout())),
      cause: 'upstream_down',
      min: 0.7,
      max: 0.8,
      says: 'has no endpoints at all',
    },
    {
      name: 'new revision never ready during a rollout, old ones terminating',
      e: ev(
        proxy(proxySample({ 502: 5 })),
        kubernetes(
          endpoints(0, 1, 2),
          pod(1, 'aaa111', { ready: false }, container({ ready: false, reason: 'CrashLoopBackOff' })),
          rollingOut(6),
        ),
      ),
      cause: 'upstream_down',
      min: 0.85,
      says: 'during the rollout of Deployment checkout-api revision 5',
    },
    {
      name: 'no endpoint ready, yet the proxy serves 200s: a contradiction, not a verdict',
      e: ev(proxy(proxySample({ 200: 5 })), kubernetes(endpoints(0, 0, 3))),
      cause: 'unknown',
      max: 0.3,
      says: 'contradicts itself',
    },
  ])('$name', ({ e, cause, min, max, says }) => {
    const f = k8sEndpointsDown(e);
    expect(f?.cause).toBe(cause);
    if (min !== undefined) expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max !== undefined) expect(f!.confidence).toBeLessThanOrEqual(max);
    expect(f!.summary).toContain(says);
  });

  it.each([
    {
      name: 'one ready of three',
      e: ev(proxy(proxySample({ 502: 2, 200: 3 })), kubernetes(endpoints(1, 0, 2))),
    },
    { name: 'no endpoints evidence (selector only)', e: ev(kubernetes(pod(1))) },
    {
      name: 'the kubernetes check errored',
      e: ev({
        name: 'kubernetes',
        status: 'error',
        summary: 'x',
        duration_ms: 1,
        evidence: [endpoints(0, 0, 3)],
      }),
    },
  ])('$name → null', ({ e }) => {
    expect(k8sEndpointsDown(e)).toBeNull();
  });
});
