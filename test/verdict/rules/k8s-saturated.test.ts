import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/verdict/engine.js';
import { k8sSaturated } from '../../../src/verdict/rules/k8s-saturated.js';
import { ev, proxy, proxySample } from '../build.js';
import { endpoints, hpa, kubernetes, NEW, pod, rollout, usingMemory } from '../k8s-build.js';

const failing = proxy(proxySample({ 502: 2, 504: 2, 200: 1 }));

describe('k8s upstream_saturated (replicas)', () => {
  it.each([
    {
      name: 'HPA at max, CPU 187% of request against 50%: 10 → 38 replicas',
      e: ev(failing, kubernetes(endpoints(10), rollout(), hpa(10, 10, 1.87, 0.5))),
      min: 0.85,
      capacity: {
        resource: 'cpu',
        instances: 10,
        utilisation: 1.87,
        target_utilisation: 0.5,
        suggested_instances: 38,
      },
      action: 'already at maxReplicas (10)',
    },
    {
      name: 'HPA still scaling: 4 of 10, CPU 120% against 60%',
      e: ev(failing, kubernetes(endpoints(4), rollout(), hpa(4, 10, 1.2, 0.6))),
      min: 0.7,
      max: 0.8,
      capacity: {
        resource: 'cpu',
        instances: 4,
        utilisation: 1.2,
        target_utilisation: 0.6,
        suggested_instances: 8,
      },
      action: 'is scaling',
    },
    {
      name: 'every pod at its memory limit, no HPA',
      e: ev(
        failing,
        kubernetes(
          endpoints(3),
          pod(1, NEW, {}, usingMemory(0.95)),
          pod(2, NEW, {}, usingMemory(0.97)),
          pod(3, NEW, {}, usingMemory(0.93)),
        ),
      ),
      min: 0.7,
      capacity: {
        resource: 'memory',
        instances: 3,
        utilisation: 0.95,
        target_utilisation: 0.7,
        suggested_instances: 5,
      },
      action: 'Scale the Deployment to 5 replicas',
    },
  ])('$name', ({ e, min, max, capacity, action }) => {
    const f = k8sSaturated(e);
    expect(f?.cause).toBe('upstream_saturated');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max !== undefined) expect(f!.confidence).toBeLessThanOrEqual(max);
    expect(f!.capacity).toEqual(capacity);
    expect(f!.actions[0]).toContain(action);
  });

  it.each([
    { name: 'HPA at max but under target', e: ev(failing, kubernetes(endpoints(10), hpa(10, 10, 0.4, 0.5))) },
    {
      name: 'HPA over target but no trouble through the proxy',
      e: ev(proxy(proxySample({ 200: 5 })), kubernetes(hpa(10, 10, 1.87))),
    },
    {
      name: 'one pod of three at its memory limit',
      e: ev(
        failing,
        kubernetes(
          pod(1, NEW, {}, usingMemory(0.95)),
          pod(2, NEW, {}, usingMemory(0.4)),
          pod(3, NEW, {}, usingMemory(0.5)),
        ),
      ),
    },
  ])('$name → null', ({ e }) => {
    expect(k8sSaturated(e)).toBeNull();
  });

  it('the verdict carries capacity in replicas and the maxReplicas action', () => {
    const v = decide({
      service: 'php-apache',
      incident: null,
      results: [failing, kubernetes(endpoints(10), rollout(), hpa(10, 10, 1.87, 0.5))] as never,
      durationMs: 10,
    });
    expect(v.recommendation).toBe('scale-up');
    expect(v.capacity?.suggested_instances).toBe(38);
    expect(v.trigger).toBeNull();
    expect(v.actions.join('\n')).toContain('raise maxReplicas to at least 38');
  });
});
