import { describe, expect, it } from 'vitest';
import { k8sMemoryLeak } from '../../../src/verdict/rules/k8s-memory-leak.js';
import { ev, proxy, proxySample } from '../build.js';
import {
  endpoints,
  hpa,
  kubernetes,
  NEW,
  OLD,
  oomKilled,
  pod,
  rollingOut,
  rollout,
  usingMemory,
} from '../k8s-build.js';

const burst = proxy(proxySample({ 502: 3, 200: 2 }));

describe('k8s memory_leak', () => {
  it.each([
    {
      name: 'a new-revision pod OOMKilled 3 min ago, 14 min into the rollout, 502s',
      e: ev(burst, kubernetes(endpoints(3), pod(1, NEW, {}, oomKilled(3)), pod(2), rollingOut(14))),
      cause: 'memory_leak',
      min: 0.85,
      says: ['checkout-api-aaa111-p1', 'OOMKilled at its 512Mi limit after running 9 min', 'revision 5'],
    },
    {
      name: 'the same, rollout complete but recent, memory climbing again after the restart',
      e: ev(
        burst,
        kubernetes(
          endpoints(3),
          pod(
            1,
            NEW,
            {},
            { ...oomKilled(3), memory_ratio: 0.62, memory_bytes: 333 * 2 ** 20, at_memory_limit: false },
          ),
          pod(2),
          rollout({
            started_at: new Date(Date.now() - 20 * 60_000).toISOString(),
            minutes_before_onset: 20,
            recent: true,
          }),
        ),
      ),
      cause: 'memory_leak',
      min: 0.9,
      says: ['is back at 62% of its limit'],
    },
    {
      name: 'after a rollout, but no 502 through the proxy now: less sure',
      e: ev(
        proxy(proxySample({ 200: 5 })),
        kubernetes(endpoints(3), pod(1, NEW, {}, oomKilled(20)), rollingOut(40)),
      ),
      cause: 'memory_leak',
      min: 0.6,
      max: 0.7,
      says: ['the new revision runs out of memory'],
    },
    {
      name: 'OOM kills with no rollout in the window: a leak or load, said at moderate confidence',
      e: ev(burst, kubernetes(endpoints(3), pod(1, NEW, {}, oomKilled(5)), rollout())),
      cause: 'memory_leak',
      max: 0.55,
      says: ['no rollout began in the window'],
    },
    {
      name: 'old and new revisions both OOMKilled: the rollout does not explain it',
      e: ev(
        burst,
        kubernetes(
          endpoints(3),
          pod(1, NEW, {}, oomKilled(3)),
          pod(2, OLD, {}, oomKilled(6)),
          rollingOut(14),
        ),
      ),
      cause: 'memory_leak',
      max: 0.55,
      says: ['both the old and the new revision'],
    },
    {
      name: 'OOM after a rollout while every pod sits at its limit under load: a stated conflict',
      e: ev(
        burst,
        kubernetes(
          endpoints(3),
          pod(
            1,
            NEW,
            {},
            {
              ...oomKilled(3),
              ...usingMemory(0.95),
              restarts: 1,
              last_terminated: oomKilled(3).last_terminated,
            },
          ),
          pod(2, NEW, {}, usingMemory(0.96)),
          pod(3, NEW, {}, usingMemory(0.97)),
          rollingOut(14),
          hpa(3, 3, 0.9, 0.6),
        ),
      ),
      cause: 'unknown',
      max: 0.4,
      says: ['conflicts', 'at its memory limit under load'],
    },
  ])('$name', ({ e, cause, min, max, says }) => {
    const f = k8sMemoryLeak(e);
    expect(f?.cause).toBe(cause);
    if (min !== undefined) expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max !== undefined) expect(f!.confidence).toBeLessThanOrEqual(max);
    for (const s of says) expect(f!.summary).toContain(s);
  });

  it.each([
    { name: 'no OOM kill', e: ev(burst, kubernetes(endpoints(3), pod(1), rollingOut(14))) },
    {
      name: 'an OOM kill hours ago',
      e: ev(burst, kubernetes(endpoints(3), pod(1, NEW, {}, oomKilled(200)), rollingOut(14))),
    },
    {
      name: 'OOM without a rollout while every pod sits at its limit: saturation, not a leak',
      e: ev(
        burst,
        kubernetes(
          pod(1, NEW, {}, { ...usingMemory(0.95), last_terminated: oomKilled(3).last_terminated }),
          pod(2, NEW, {}, usingMemory(0.96)),
          rollout(),
        ),
      ),
    },
    { name: 'no kubernetes evidence', e: ev(burst) },
  ])('$name → null', ({ e }) => {
    expect(k8sMemoryLeak(e)).toBeNull();
  });
});
