import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstreamCheck } from '../../src/checks/upstream/check.js';
import { silentLogger } from '../../src/log.js';
import { UpstreamCheckSchema } from '../../src/playbooks/schema.js';
import { requireBinary } from '../helpers/binaries.js';
import { slowUpstream, statusUpstream, type Upstream } from '../helpers/upstreams.js';

const ctx = () => ({
  service: 's',
  signal: AbortSignal.timeout(20_000),
  log: silentLogger(),
  env: {},
  now: Date.now,
  onsetAt: Date.now(),
  timeoutMs: 10_000,
});
const run = (config: unknown) => upstreamCheck.run(UpstreamCheckSchema.parse(config), ctx());

describe('upstream check: TLS targets, latency percentiles, HTTP statuses', () => {
  let dir: string;
  let tls: Server;
  let tlsUrl: string;
  let slow: Upstream;
  let failing: Upstream;

  beforeAll(async () => {
    const openssl = requireBinary('openssl');
    dir = mkdtempSync(join(tmpdir(), 'gw-tls-'));
    execFileSync(
      openssl,
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    tls = createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (_, res) => res.end('ok'),
    );
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    tlsUrl = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/healthz`;
    [slow, failing] = await Promise.all([slowUpstream(120), statusUpstream(503)]);
  });

  afterAll(async () => {
    tls?.closeAllConnections();
    tls?.close();
    await Promise.all([slow?.close(), failing?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a self-signed certificate fails the handshake: outcome tls', async () => {
    const out = await run({ targets: [tlsUrl], probes: 2 });
    expect(out.status).toBe('fail');
    expect(out.evidence[0]).toMatchObject({ outcome: 'tls', failures: 2, probes: 2 });
  });

  it('with tls_insecure the same target is healthy', async () => {
    const out = await run({ targets: [tlsUrl], probes: 2, tls_insecure: true });
    expect(out.status).toBe('ok');
    expect(out.evidence[0]!.outcome).toBe('ok');
  });

  it('several probes give p50/p95 latency that reflect the upstream', async () => {
    const out = await run({ targets: [slow.url], probes: 5 });
    const e = out.evidence[0]!;
    expect(e.probes).toBe(5);
    expect(e.p50_ms).toBeGreaterThanOrEqual(115);
    expect(e.p95_ms).toBeGreaterThanOrEqual(e.p50_ms!);
    expect(e.connect_ms).not.toBeNull();
  });

  it('an HTTP 503 is http_5xx with its status; expect_status can accept it', async () => {
    const out = await run({ targets: [failing.url], probes: 2 });
    expect(out.evidence[0]).toMatchObject({ outcome: 'http_5xx', http_status: 503, status: 'fail' });
    const accepted = await run({ targets: [failing.url], probes: 1, expect_status: [503] });
    expect(accepted.evidence[0]!.outcome).toBe('ok');
  });
});
