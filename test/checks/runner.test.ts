import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/checks/registry.js';
import { runChecks } from '../../src/checks/runner.js';
import type { CheckResult } from '../../src/checks/types.js';
import { silentLogger } from '../../src/log.js';
import { playbook } from '../helpers/gatewatch.js';
import { hangingUpstream, healthyUpstream, type Upstream } from '../helpers/upstreams.js';

const base = { log: silentLogger(), env: {}, now: Date.now, onsetAt: Date.now() };

describe('the check runner', () => {
  let hang: Upstream;
  let fine: Upstream;
  beforeAll(async () => {
    [hang, fine] = await Promise.all([hangingUpstream(), healthyUpstream()]);
  });
  afterAll(async () => {
    await Promise.all([hang.close(), fine.close()]);
  });

  it('turns a check that overruns its own timeout into an error result, without waiting for it', async () => {
    const pb = playbook({
      service: 's',
      checks: { upstream: { targets: [hang.url], timeout_ms: 30_000, probes: 1 } },
      timeouts: { check_ms: 300, total_ms: 5000 },
    });
    const started = Date.now();
    const [r] = await runChecks(pb, base);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(r).toMatchObject({ name: 'upstream', status: 'error', evidence: [] });
    expect(r!.summary).toMatch(/timed out after 300 ms/);
    expect(r!.duration_ms).toBeGreaterThanOrEqual(290);
  });

  it('a check that throws becomes an error result; the others still report', async () => {
    const registry = {
      ...CHECKS,
      load: {
        name: 'load' as const,
        run: async () => {
          throw new Error('prometheus exploded');
        },
      },
    };
    const pb = playbook({
      service: 's',
      checks: { upstream: { targets: [fine.url], probes: 1 }, load: { scrape: [fine.url] } },
    });
    const results = await runChecks(pb, { ...base, registry });
    const byName = Object.fromEntries(results.map((r) => [r.name, r]));
    expect(byName.load).toMatchObject({ status: 'error' });
    expect(byName.load!.summary).toContain('prometheus exploded');
    expect(byName.upstream).toMatchObject({ status: 'ok' });
  });

  it('honours an abort from outside: every running check stops and reports', async () => {
    const pb = playbook({
      service: 's',
      checks: { upstream: { targets: [hang.url], timeout_ms: 30_000, probes: 1 } },
      timeouts: { check_ms: 30_000, total_ms: 60_000 },
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('worker shutting down')), 200);
    const started = Date.now();
    const [r] = await runChecks(pb, { ...base, signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(r!.status).toBe('error');
    expect(r!.summary).toMatch(/aborted/);
  });

  it('the total deadline bounds the whole run', async () => {
    const pb = playbook({
      service: 's',
      checks: { upstream: { targets: [hang.url], timeout_ms: 30_000, probes: 1 } },
      timeouts: { check_ms: 30_000, total_ms: 400 },
    });
    const started = Date.now();
    const [r] = await runChecks(pb, base);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(r!.status).toBe('error');
  });

  it('reports each result as it finishes, in completion order', async () => {
    const seen: CheckResult[] = [];
    const pb = playbook({
      service: 's',
      checks: { upstream: { targets: [fine.url], probes: 1 } },
    });
    const results = await runChecks(pb, { ...base, onResult: (r) => seen.push(r) });
    expect(seen).toEqual(results);
  });
});
