import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hangingUpstream,
  healthyUpstream,
  refusingUpstream,
  resettingUpstream,
  type Upstream,
} from '../helpers/upstreams.js';

const run = promisify(execFile);

interface CliVerdict {
  service: string;
  incident: string | null;
  recommendation: string;
  cause: string;
  confidence: number;
  summary: string;
  actions: string[];
  checks: {
    name: string;
    status: string;
    duration_ms: number;
    evidence: { outcome: string; host: string; port: number }[];
  }[];
  duration_ms: number;
}

/** `gatewatch check SERVICE --json` as a user runs it: a real process, real sockets. */
async function check(
  service: string,
  dir: string,
): Promise<{ code: number; verdict?: CliVerdict; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['bin/gatewatch.js', 'check', service, '--playbooks', dir, '--json'],
      {
        timeout: 30_000,
      },
    );
    return { code: 0, verdict: JSON.parse(stdout) as CliVerdict, stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('gatewatch check against real local servers', () => {
  const ups: Upstream[] = [];
  let dir: string;
  let urls: Record<'fine' | 'fine2' | 'refused' | 'reset' | 'hang', string>;

  beforeAll(async () => {
    const [fine, fine2, refused, reset, hang] = await Promise.all([
      healthyUpstream(),
      healthyUpstream(),
      refusingUpstream(),
      resettingUpstream(),
      hangingUpstream(),
    ]);
    ups.push(fine, fine2, refused, reset, hang);
    urls = { fine: fine.url, fine2: fine2.url, refused: refused.url, reset: reset.url, hang: hang.url };
    dir = mkdtempSync(join(tmpdir(), 'gw-check-'));
    const pb = (service: string, targets: string[]) =>
      writeFileSync(
        join(dir, `${service}.yaml`),
        `service: ${service}\nchecks:\n  upstream:\n    targets: [${targets.join(', ')}]\n    timeout_ms: 500\n    probes: 2\n`,
      );
    pb('fine', [urls.fine, urls.fine2]);
    pb('refusing', [urls.refused]);
    pb('resetting', [urls.reset]);
    pb('hanging', [urls.hang]);
    pb('unresolvable', ['http://no-such-upstream.invalid:8080/healthz']);
    pb('partial', [urls.fine, urls.refused]);
  });

  afterAll(async () => {
    await Promise.all(ups.map((u) => u.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('healthy upstreams: recovered / none, with latency evidence', async () => {
    const { code, verdict } = await check('fine', dir);
    expect(code).toBe(0);
    expect(verdict).toMatchObject({
      service: 'fine',
      incident: null,
      cause: 'recovered',
      recommendation: 'none',
    });
    const up = verdict!.checks.find((c) => c.name === 'upstream')!;
    expect(up.status).toBe('ok');
    expect(up.evidence.map((e) => e.outcome)).toEqual(['ok', 'ok']);
  });

  it('a closed port: refused, upstream_down / fix, naming the port', async () => {
    const { code, verdict } = await check('refusing', dir);
    expect(code).toBe(0);
    expect(verdict).toMatchObject({ cause: 'upstream_down', recommendation: 'fix' });
    expect(verdict!.checks[0]!.evidence[0]!.outcome).toBe('refused');
    const port = new URL(urls.refused).port;
    expect(verdict!.actions.join(' ')).toContain(`127.0.0.1:${port}`);
  });

  it('a server that resets: classified as reset', async () => {
    const { verdict } = await check('resetting', dir);
    expect(verdict!.checks[0]!.evidence[0]!.outcome).toBe('reset');
    expect(verdict!.checks[0]!.status).toBe('fail');
  });

  it('a server that hangs: classified as timeout, within the probe timeout', async () => {
    const { verdict } = await check('hanging', dir);
    expect(verdict!.checks[0]!.evidence[0]!.outcome).toBe('timeout');
    expect(verdict!.checks[0]!.duration_ms).toBeLessThan(5000);
  });

  it('a name that does not resolve: dns_failure / fix', async () => {
    const { verdict } = await check('unresolvable', dir);
    expect(verdict!.checks[0]!.evidence[0]!.outcome).toBe('dns');
    expect(verdict).toMatchObject({ cause: 'dns_failure', recommendation: 'fix' });
    expect(verdict!.summary).toContain('no-such-upstream.invalid');
  });

  it('one of two dead: upstream_partial / fix naming the dead one only', async () => {
    const { verdict } = await check('partial', dir);
    expect(verdict).toMatchObject({ cause: 'upstream_partial', recommendation: 'fix' });
    const deadPort = new URL(urls.refused).port;
    const livePort = new URL(urls.fine).port;
    expect(verdict!.actions[0]).toContain(`:${deadPort}`);
    expect(verdict!.actions.join(' ')).not.toContain(`:${livePort}`);
  });

  it('an unknown service exits 2 naming the known ones', async () => {
    const { code, stderr } = await check('nope', dir);
    expect(code).toBe(2);
    expect(stderr).toMatch(/no playbook for service "nope"; known: .*fine/);
  });
});
