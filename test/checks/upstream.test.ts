import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer, type Server } from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstreamCheck } from '../../src/checks/upstream/check.js';
import { silentLogger } from '../../src/log.js';
import { UpstreamCheckSchema } from '../../src/playbooks/schema.js';
import { requireBinary } from '../helpers/binaries.js';
import { makePki, type TestPki } from '../helpers/tls.js';
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

describe('upstream check: unix sockets, a CA bundle, HTTP/2, keep-alive and header size', () => {
  let dir: string;
  let ca: string;
  let pki: TestPki;
  let servers: { close(): void }[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-upstream-'));
    pki = makePki(dir, 'IP:127.0.0.1');
    ca = pki.ca;
  });
  afterAll(() => {
    for (const s of servers) s.close();
    servers = [];
    rmSync(dir, { recursive: true, force: true });
  });

  it('a certificate signed by an internal CA: tls without ca_file, ok with it', async () => {
    const server = createServer({ key: readFileSync(pki.key), cert: readFileSync(pki.cert) }, (_, res) =>
      res.end('ok'),
    );
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    expect((await run({ targets: [url], probes: 1 })).evidence[0]!.outcome).toBe('tls');
    expect((await run({ targets: [url], probes: 1, ca_file: ca })).evidence[0]!.outcome).toBe('ok');
  });

  it('http2: an HTTP/2-only server answers over h2', async () => {
    const server = createSecureServer(
      {
        key: readFileSync(pki.key),
        cert: readFileSync(pki.cert),
        allowHTTP1: false,
      },
      (_, res) => res.end('ok'),
    );
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    const h2 = (await run({ targets: [url], probes: 1, ca_file: ca, http2: true })).evidence[0]!;
    expect(h2.outcome, h2.error ?? '').toBe('ok');
    const h1 = (await run({ targets: [url], probes: 1, ca_file: ca })).evidence[0]!;
    expect(h1.outcome).not.toBe('ok');
  });

  it("reports the upstream's advertised keep-alive timeout and its header size", async () => {
    const server = createHttpServer((_, res) => {
      res.setHeader('set-cookie', `s=${'a'.repeat(5000)}`);
      res.end('ok');
    });
    server.keepAliveTimeout = 5000;
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const e = (
      await run({ targets: [`http://127.0.0.1:${(server.address() as AddressInfo).port}/`], probes: 2 })
    ).evidence[0]!;
    expect(e.keep_alive_s).toBe(5);
    expect(e.header_bytes).toBeGreaterThan(5000);
    expect(e.by_address).toEqual([expect.objectContaining({ address: '127.0.0.1', outcome: 'ok' })]);
  });

  it('a unix socket target: ok while it accepts, failing when nothing is there (a full backlog: scenarios/causes)', async () => {
    const path = join(dir, 'app.sock');
    const server = createNetServer({ pauseOnConnect: true }, () => {});
    servers.push(server);
    await new Promise<void>((r) => server.listen({ path, backlog: 1 }, r));
    const ok = (await run({ targets: [`unix:${path}`], probes: 2 })).evidence[0]!;
    expect(ok).toMatchObject({ outcome: 'ok', status: 'ok', host: path, port: 0 });
    const missing = (await run({ targets: [`unix:${join(dir, 'none.sock')}`], probes: 1 })).evidence[0]!;
    expect(missing.status).toBe('fail');
  });
});
