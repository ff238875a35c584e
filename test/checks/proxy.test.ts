import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyEvidence, proxyCheck, proxyLog, proxySample } from '../../src/checks/proxy/check.js';
import { parseEnvoyLine } from '../../src/checks/proxy/log/envoy.js';
import { parseHaproxyLine } from '../../src/checks/proxy/log/haproxy.js';
import { parseNginxErrorLine } from '../../src/checks/proxy/log/nginx.js';
import { summariseLog } from '../../src/checks/proxy/log/summary.js';
import type { CheckOutput } from '../../src/checks/types.js';
import { ProxyCheckSchema } from '../../src/playbooks/schema.js';
import { checkContext } from '../helpers/check-context.js';
import { type NginxHttpBlocks, type PrivateNginx, startNginx } from '../helpers/nginx.js';
import { type NxdomainDns, startNxdomainDns } from '../helpers/nxdomain-dns.js';
import {
  hangingUpstream,
  healthyUpstream,
  refusingUpstream,
  resettingUpstream,
  type Upstream,
} from '../helpers/upstreams.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/proxy-logs/', import.meta.url));
const fixtureLines = (name: string) =>
  readFileSync(join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

function runProxy(config: unknown, now = Date.now()): Promise<CheckOutput<ProxyEvidence>> {
  return proxyCheck.run(ProxyCheckSchema.parse(config), checkContext({ now: () => now, onsetAt: now }));
}

/** nginx's error_log time stamp, in local time as nginx writes it. */
function nginxStamp(t: number): string {
  const d = new Date(t);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${two(d.getMonth() + 1)}/${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

describe('proxy check through a real nginx', () => {
  let nginx: PrivateNginx;
  let dns: NxdomainDns;
  const up: Record<'ok' | 'refused' | 'reset' | 'hang' | 'deadA' | 'deadB' | 'wrong', Upstream> = {} as never;
  const logOf = (location: string) => join(nginx.prefix, 'logs', `${location}.error.log`);

  beforeAll(async () => {
    [up.ok, up.refused, up.reset, up.hang, up.deadA, up.deadB, up.wrong, dns] = await Promise.all([
      healthyUpstream(),
      refusingUpstream(),
      resettingUpstream(),
      hangingUpstream(),
      refusingUpstream(),
      refusingUpstream(),
      refusingUpstream(),
      startNxdomainDns(),
    ]);
    nginx = await startNginx({ http: blocks(up.ok.port) });
  });

  /** The server blocks, with /app sent to `appPort`: a reload with another port misroutes it. */
  function blocks(appPort: number): NginxHttpBlocks {
    // Each location logs to its own file, so each test reads back only its own lines.
    const location = (name: string, body: string) => `
    location /${name} {
      error_log ${join('logs', `${name}.error.log`)} error;
      ${body}
    }`;
    return ({ port }) => `
  resolver 127.0.0.1:${dns.port} ipv6=off valid=1s;
  resolver_timeout 2s;
  upstream pool {
    server 127.0.0.1:${up.deadA.port} max_fails=1 fail_timeout=30s;
    server 127.0.0.1:${up.deadB.port} max_fails=1 fail_timeout=30s;
  }
  server {
    listen 127.0.0.1:${port};
    ${location('ok', `proxy_pass http://127.0.0.1:${up.ok.port}/;`)}
    ${location('refused', `proxy_pass http://127.0.0.1:${up.refused.port}/;`)}
    ${location('reset', `proxy_pass http://127.0.0.1:${up.reset.port}/;`)}
    ${location('hang', `proxy_read_timeout 1s; proxy_pass http://127.0.0.1:${up.hang.port}/;`)}
    ${location('pool', 'proxy_next_upstream error timeout; proxy_pass http://pool/;')}
    ${location('dns', 'set $backend "http://app.gatewatch.invalid:8080"; proxy_pass $backend;')}
    ${location('app', `proxy_pass http://127.0.0.1:${appPort}/;`)}
  }`;
  }

  afterAll(async () => {
    await nginx?.stop();
    await Promise.all([...Object.values(up).map((u) => u.close()), dns?.close()]);
  });

  it('fails with counts per status while nginx answers 502 for a refusing upstream, and names its port', async () => {
    const out = await runProxy({
      url: `${nginx.url}/refused`,
      samples: 4,
      error_log: { path: logOf('refused'), format: 'nginx' },
    });
    expect(out.status).toBe('fail');
    const sample = proxySample(out.evidence);
    expect(sample).toMatchObject({
      samples: 4,
      gateway_errors: 4,
      gateway_error_share: 1,
      statuses: { 502: 4 },
    });
    expect(sample?.server).toMatch(/nginx/);
    const log = proxyLog(out.evidence);
    expect(log?.error).toBeNull();
    expect(log?.dominant).toBe('refused');
    expect(log?.signatures[0]).toMatchObject({ id: 'refused', kind: 'connect', count: 4 });
    expect(log?.upstreams).toEqual([{ address: `127.0.0.1:${up.refused.port}`, count: 4 }]);
    expect(out.summary).toContain('4/4 samples got 502/503/504');
  });

  it('is ok when the upstream answers and the log holds nothing recent', async () => {
    const out = await runProxy({
      url: `${nginx.url}/ok`,
      samples: 3,
      error_log: { path: logOf('ok'), format: 'nginx' },
    });
    expect(out.status).toBe('ok');
    expect(proxySample(out.evidence)).toMatchObject({ gateway_errors: 0, statuses: { 200: 3 } });
    // nginx creates a location's error_log at start; nothing was written to it.
    expect(proxyLog(out.evidence)).toMatchObject({ error: null, errors: 0, dominant: null, signatures: [] });
  });

  it('sees 504 from a hanging upstream and reads the timeout back from the log', async () => {
    const out = await runProxy({
      url: `${nginx.url}/hang`,
      samples: 2,
      timeout_ms: 5000,
      error_log: { path: logOf('hang'), format: 'nginx' },
    });
    expect(out.status).toBe('fail');
    expect(proxySample(out.evidence)?.statuses).toEqual({ 504: 2 });
    const log = proxyLog(out.evidence);
    expect(log?.dominant).toBe('timeout');
    expect(log?.signatures[0]?.raw).toMatch(/^110: /);
    expect(log?.upstreams[0]?.address).toBe(`127.0.0.1:${up.hang.port}`);
  });

  it('counts a gateway that hangs longer than the sample timeout as no answer, not as a 502', async () => {
    const out = await runProxy({ url: `${nginx.url}/hang`, samples: 1, timeout_ms: 200 });
    expect(proxySample(out.evidence)).toMatchObject({
      gateway_errors: 0,
      statuses: {},
      no_answer: { timeout: 1 },
    });
    expect(out.status).toBe('fail');
  });

  it('classifies an upstream that resets mid-request as a crash signature', async () => {
    const out = await runProxy({
      url: `${nginx.url}/reset`,
      samples: 3,
      error_log: { path: logOf('reset'), format: 'nginx' },
    });
    expect(proxySample(out.evidence)?.statuses).toEqual({ 502: 3 });
    const log = proxyLog(out.evidence);
    expect(['reset', 'premature_close']).toContain(log?.dominant);
    expect(log?.signatures[0]?.kind).toBe('crash');
    expect(log?.upstreams[0]).toEqual({ address: `127.0.0.1:${up.reset.port}`, count: 3 });
  });

  it('reads a runtime DNS failure and names the host that does not resolve', async () => {
    const out = await runProxy({
      url: `${nginx.url}/dns`,
      samples: 2,
      error_log: { path: logOf('dns'), format: 'nginx' },
    });
    expect(proxySample(out.evidence)?.statuses).toEqual({ 502: 2 });
    const log = proxyLog(out.evidence);
    expect(log?.dominant).toBe('dns');
    expect(log?.signatures[0]?.raw).toBe('3: Host not found');
    expect(log?.upstreams[0]?.address).toBe('app.gatewatch.invalid');
  });

  it('sees refusals turn into "no live upstreams" once every server of a group is marked down', async () => {
    const config = { url: `${nginx.url}/pool`, error_log: { path: logOf('pool'), format: 'nginx' } };
    // One request tries both servers and marks each down (max_fails=1); the next find none left.
    const first = await runProxy({ ...config, samples: 1 });
    expect(proxySample(first.evidence)?.statuses).toEqual({ 502: 1 });
    const out = await runProxy({ ...config, samples: 2 });
    expect(proxySample(out.evidence)?.statuses).toEqual({ 502: 2 });
    const log = proxyLog(out.evidence);
    const ids = Object.fromEntries((log?.signatures ?? []).map((s) => [s.id, s]));
    expect(ids.refused?.count).toBe(2);
    expect(ids.no_live_upstreams?.count).toBe(2);
    expect(ids.no_live_upstreams?.upstreams[0]?.address).toBe('pool');
    expect(ids.refused?.upstreams.map((u) => u.address).sort()).toEqual(
      [`127.0.0.1:${up.deadA.port}`, `127.0.0.1:${up.deadB.port}`].sort(),
    );
  });

  it('names the port a reloaded config wrongly sends to, while the real upstream is healthy', async () => {
    const config = {
      url: `${nginx.url}/app`,
      samples: 2,
      error_log: { path: logOf('app'), format: 'nginx' },
    };
    expect((await runProxy(config)).status).toBe('ok');
    await nginx.reload(blocks(up.wrong.port));
    const out = await runProxy(config);
    expect(out.status).toBe('fail');
    const log = proxyLog(out.evidence);
    expect(log?.dominant).toBe('refused');
    expect(log?.upstreams).toEqual([{ address: `127.0.0.1:${up.wrong.port}`, count: 2 }]);
    expect(log?.upstreams[0]?.address).not.toBe(`127.0.0.1:${up.ok.port}`);
  });

  it('warns when only the log shows recent errors, and errors when there is nothing it can read', async () => {
    const warn = await runProxy({ error_log: { path: logOf('refused'), format: 'nginx' } });
    expect(warn.status).toBe('warn');
    expect(warn.evidence.map((e) => e.kind)).toEqual(['log']);
    const missing = await runProxy({ error_log: { path: join(nginx.prefix, 'logs', 'nope.log') } });
    expect(missing.status).toBe('error');
    expect(proxyLog(missing.evidence)?.error).toMatch(/ENOENT/);
    expect((await runProxy({})).status).toBe('skipped');
  });
});

describe('proxy log parsing of real-world lines', () => {
  it('gives every nginx fixture line its signature and upstream', () => {
    const parsed = fixtureLines('nginx-error.log').map(parseNginxErrorLine);
    expect(parsed.map((e) => e?.signature)).toEqual([
      'refused',
      'refused',
      'unreachable',
      'premature_close',
      'no_live_upstreams',
      'no_live_upstreams',
      'timeout',
      'connect_timeout',
      'timeout',
      'reset',
      'reset',
      'dns',
      'config_host_not_found',
      'header_too_big',
      'header_too_big',
    ]);
    expect(parsed.map((e) => e?.upstream)).toEqual([
      '172.21.0.19:9000',
      '23.xx.xx.178:8080',
      '[2606:4700:3030::681c:31a]:8080',
      '10.xxx.xx.xxx:8080',
      'mywilldomain.tk',
      'test.myservice.com',
      'unix:/var/run/php-fpm.sock',
      '192.168.215.3:8443',
      'unix:/run/php/php8.1-fpm.sock',
      '11.211.103.77:9000',
      '85.10.200.69:8080',
      'decidim',
      'pipedfrontend:80',
      '192.168.96.6:3000',
      '101.69.46.220:80',
    ]);
    expect(parsed[0]?.at).toBe(new Date(2020, 4, 7, 3, 15, 12).getTime());
    expect(parsed[7]?.raw).toBe('110: Operation timed out');
  });

  it('reads nginx lines behind a docker prefix and ignores warnings and non-upstream errors', () => {
    const line = fixtureLines('nginx-error.log')[0] ?? '';
    expect(parseNginxErrorLine(`nginx.1    | ${line}`)).toMatchObject({ signature: 'refused' });
    expect(
      parseNginxErrorLine(
        '2024/01/02 03:04:05 [warn] 7#7: *9 upstream server temporarily disabled while connecting to upstream, client: 1.2.3.4',
      ),
    ).toBeNull();
    expect(
      parseNginxErrorLine(
        '2024/01/02 03:04:05 [error] 7#7: *9 open() "/srv/www/favicon.ico" failed (2: No such file or directory), client: 1.2.3.4',
      ),
    ).toBeNull();
  });

  it('maps HAProxy termination states, statuses and servers', () => {
    const parsed = fixtureLines('haproxy.log').map(parseHaproxyLine);
    expect(parsed.map((e) => e && [e.signature, e.status, e.upstream, e.raw])).toEqual([
      null,
      ['reset', 502, null, 'SH--'],
      ['timeout', 504, '10.81.15.120', 'sH--'],
      ['connect_timeout', 503, '10.20.30.40', 'sC--'],
      ['premature_close', 200, 'app-1-tomcat0', 'SD--'],
      null,
    ]);
    expect(parsed[2]?.at).toBe(new Date(2023, 2, 7, 11, 33, 48, 83).getTime());
    const sc = (fixtureLines('haproxy.log')[3] ?? '').replace('sC--', 'SC--');
    expect(parseHaproxyLine(sc)?.signature).toBe('refused');
  });

  it('maps Envoy response flags in the default, JSON and key=value layouts', () => {
    const parsed = fixtureLines('envoy-access.log').map(parseEnvoyLine);
    expect(parsed.map((e) => e && [e.signature, e.status, e.upstream, e.raw])).toEqual([
      null,
      ['connect_failure', 503, '172.19.0.2:8000', 'UF'],
      ['connect_failure', 503, null, 'UF,URX'],
      ['timeout', 200, '127.0.0.1:7000', 'UT'],
    ]);
    expect(parsed[1]?.at).toBe(Date.parse('2022-03-11T09:58:37.960Z'));
    expect(parsed[3]?.at).toBe(1575562493_000);
    const uh = (fixtureLines('envoy-access.log')[0] ?? '').replace('204 -', '503 UH');
    expect(parseEnvoyLine(uh)).toMatchObject({ signature: 'no_live_upstreams', upstream: '10.0.2.1:80' });
  });

  it('counts a whole fixture log by signature when the window reaches back far enough', () => {
    const text = readFileSync(join(FIXTURES, 'nginx-error.log'), 'utf8');
    const all = summariseLog(text, 'nginx', 0);
    expect(all.errors).toBe(15);
    expect(all.signatures.slice(0, 5).map((s) => [s.id, s.count])).toEqual([
      ['header_too_big', 2],
      ['no_live_upstreams', 2],
      ['refused', 2],
      ['reset', 2],
      ['timeout', 2],
    ]);
    // Only 2024's lines are newer than 2024-01-01.
    const recent = summariseLog(text, 'nginx', new Date(2024, 0, 1).getTime());
    expect(recent.signatures.map((s) => s.id).sort()).toEqual(['config_host_not_found', 'timeout']);
    expect(recent.ignored).toBe(13);
  });
});

describe('bounded tail read of a large error log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-proxylog-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads only the last max_bytes and counts only lines inside the window', async () => {
    const now = new Date(2024, 5, 1, 12, 0, 0).getTime();
    const line = (t: number, msg: string, upstream: string) =>
      `${nginxStamp(t)} [error] 7#7: *1 ${msg}, client: 10.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://${upstream}/", host: "shop"\n`;
    const refused = 'connect() failed (111: Connection refused) while connecting to upstream';
    const timedOut =
      'upstream timed out (110: Connection timed out) while reading response header from upstream';
    // Recent lines at the very start would count if the whole file were read.
    const head = line(now - 60_000, refused, '10.9.9.9:1').repeat(200);
    const old = line(now - 3 * 3600_000, refused, '10.1.1.1:8080').repeat(40_000);
    const recent = line(now - 5 * 60_000, timedOut, '10.2.2.2:8080').repeat(7);
    const path = join(dir, 'error.log');
    writeFileSync(path, head + old + recent);
    const size = Buffer.byteLength(head + old + recent);
    expect(size).toBeGreaterThan(4 * 1024 * 1024);

    const out = await runProxy({ error_log: { path, format: 'nginx', max_bytes: 64 * 1024 } }, now);
    const log = proxyLog(out.evidence);
    expect(log).toMatchObject({ bytes_read: 64 * 1024, file_size: size, truncated: true, errors: 7 });
    expect(log?.signatures.map((s) => [s.id, s.count])).toEqual([['timeout', 7]]);
    expect(log?.upstreams).toEqual([{ address: '10.2.2.2:8080', count: 7 }]);
    // Old lines inside the tail were parsed and left out; the head was never read.
    expect(log?.ignored).toBeGreaterThan(100);
    expect(log?.ignored).toBeLessThan((64 * 1024) / 100);
    expect(out.status).toBe('warn');

    const wider = await runProxy(
      { error_log: { path, format: 'nginx', max_bytes: 64 * 1024, window_minutes: 240 } },
      now,
    );
    expect(proxyLog(wider.evidence)?.dominant).toBe('refused');
  });
});
