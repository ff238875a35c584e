import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/verdict/engine.js';
import { k8sDeployDrain } from '../../../src/verdict/rules/k8s-deploy-drain.js';
import { ev, proxy, proxyLogOf, proxySample } from '../build.js';
import { container, endpoints, kubernetes, NEW, oomKilled, pod, rollingOut, rollout } from '../k8s-build.js';

const burst = proxy(proxySample({ 502: 2, 200: 3 }));

describe('k8s deploy_drain', () => {
  it.each([
    {
      name: '502s while the rollout replaces pods, one endpoint terminating',
      e: ev(burst, kubernetes(endpoints(2, 1), rollingOut(3))),
      min: 0.8,
    },
    {
      name: 'no sample, but the log shows upstreams closing mid-request',
      e: ev(
        proxy(proxyLogOf([['premature_close', 4, '10.244.0.100:8080']])),
        kubernetes(endpoints(2, 1), rollingOut(3)),
      ),
      min: 0.8,
    },
    {
      name: 'no proxy evidence at all: the rollout and draining endpoints alone',
      e: ev(kubernetes(endpoints(2, 1), rollingOut(3))),
      max: 0.6,
    },
    {
      name: 'a rollout stuck for hours (old sets still up), endpoints terminating',
      e: ev(burst, kubernetes(endpoints(2, 1), rollingOut(300))),
      min: 0.8,
    },
  ])('$name → deploy_drain', ({ e, min, max }) => {
    const f = k8sDeployDrain(e);
    expect(f?.cause).toBe('deploy_drain');
    if (min !== undefined) expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max !== undefined) expect(f!.confidence).toBeLessThanOrEqual(max);
    expect(f!.summary).toContain('terminating');
    expect(f!.actions[0]).toContain('preStop');
  });

  it.each([
    { name: 'nothing terminating', e: ev(burst, kubernetes(endpoints(3), rollingOut(3))) },
    {
      name: 'no endpoint ready: that is down, not draining',
      e: ev(burst, kubernetes(endpoints(0, 2, 1), rollingOut(3))),
    },
    {
      name: 'terminating with no rollout (a scale-down)',
      e: ev(burst, kubernetes(endpoints(2, 1), rollout())),
    },
    {
      name: 'a rollout but no 502 now',
      e: ev(proxy(proxySample({ 200: 5 })), kubernetes(endpoints(2, 1), rollingOut(3))),
    },
    {
      name: 'the new revision crash-loops: its crashes explain the 502s, not the drain',
      e: ev(
        burst,
        kubernetes(
          endpoints(2, 1),
          pod(1, NEW, {}, container({ reason: 'CrashLoopBackOff' })),
          rollingOut(3),
        ),
      ),
    },
    {
      name: 'a new pod restarted after an OOM kill (memory_leak comes first)',
      e: ev(burst, kubernetes(endpoints(2, 1), pod(1, NEW, {}, oomKilled(2)), rollingOut(3))),
    },
  ])('$name → null', ({ e }) => {
    expect(k8sDeployDrain(e)).toBeNull();
  });

  it('the proxy log naming a terminating pod IP is said and raises confidence', () => {
    const f = k8sDeployDrain(
      ev(
        proxy(proxyLogOf([['premature_close', 4, '10.244.0.100:8080']])),
        kubernetes(endpoints(2, 1), rollingOut(3)),
      ),
    );
    expect(f!.confidence).toBeGreaterThanOrEqual(0.9);
    expect(f!.summary).toContain("the proxy's errors name 10.244.0.100:8080, a terminating pod");
    const elsewhere = k8sDeployDrain(
      ev(
        proxy(proxyLogOf([['premature_close', 4, '10.9.9.9:8080']])),
        kubernetes(endpoints(2, 1), rollingOut(3)),
      ),
    );
    expect(elsewhere!.confidence).toBeLessThan(0.9);
    expect(elsewhere!.summary).not.toContain("the proxy's errors name");
  });

  it('the rollout is the verdict trigger: kind deploy, ref its ReplicaSet', () => {
    const onsetAt = Date.now();
    const v = decide({
      service: 'checkout-api',
      incident: null,
      results: [burst, kubernetes(endpoints(2, 1), rollingOut(3))] as never,
      durationMs: 10,
      onsetAt,
    });
    expect(v.cause).toBe('deploy_drain');
    expect(v.recommendation).toBe('fix');
    expect(v.trigger).toMatchObject({
      kind: 'deploy',
      ref: 'checkout-api-aaa111',
      summary: 'Deployment checkout-api revision 5 (registry.example/checkout-api:1.5.0) rollout',
      author: null,
      minutes_before_onset: 3,
    });
  });
});
