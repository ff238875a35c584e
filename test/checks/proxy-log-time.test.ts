import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyEvidence, proxyCheck, proxyLog } from '../../src/checks/proxy/check.js';
import { summariseLog } from '../../src/checks/proxy/log/summary.js';
import type { CheckOutput } from '../../src/checks/types.js';
import { parsePlaybook } from '../../src/playbooks/load.js';
import { ProxyCheckSchema } from '../../src/playbooks/schema.js';
import { checkContext } from '../helpers/check-context.js';
import { type PrivateNginx, startNginx } from '../helpers/nginx.js';
import { refusingUpstream, type Upstream } from '../helpers/upstreams.js';

function runProxy(config: unknown): Promise<CheckOutput<ProxyEvidence>> {
  return proxyCheck.run(ProxyCheckSchema.parse(config), checkContext());
}

/**
 * nginx started with TZ set stamps its error log in that zone, with no zone in the
 * line: an edge host in Tokyo (UTC+9, no DST) or New York seen from gatewatch's own zone.
 */
describe('proxy error logs written in another time zone', () => {
  const sites: Record<'tokyo' | 'newYork', { zone: string; nginx?: PrivateNginx }> = {
    tokyo: { zone: 'Asia/Tokyo' },
    newYork: { zone: 'America/New_York' },
  };
  let dead: Upstream;
  const logOf = (n: PrivateNginx) => join(n.prefix, 'logs', 'error.log');

  beforeAll(async () => {
    dead = await refusingUpstream();
    for (const site of Object.values(sites)) {
      site.nginx = await startNginx({
        env: { ...process.env, TZ: site.zone },
        http: ({ port }) =>
          `server { listen 127.0.0.1:${port}; location / { proxy_pass http://127.0.0.1:${dead.port}/; } }`,
      });
      // Three real 502s, each a `connect() failed (111: Connection refused)` line.
      for (let i = 0; i < 3; i++) {
        const res = await request(`${site.nginx.url}/checkout`);
        await res.body.dump();
        expect(res.statusCode).toBe(502);
      }
    }
  });

  afterAll(async () => {
    await Promise.all(Object.values(sites).map((s) => s.nginx?.stop()));
    await dead?.close();
  });

  it('counts the current errors of a log stamped in the playbook timezone', async () => {
    for (const site of Object.values(sites)) {
      const out = await runProxy({
        error_log: { path: logOf(site.nginx!), format: 'nginx', timezone: site.zone },
      });
      const log = proxyLog(out.evidence);
      expect(log?.errors, site.zone).toBe(3);
      expect(log?.future, site.zone).toBe(0);
      expect(log?.dominant).toBe('refused');
    }
  });

  it('ignores lines from the future and counts them, rather than taking them for current errors', async () => {
    // Read as if written in UTC, Tokyo's lines are nine hours ahead of now.
    const out = await runProxy({
      error_log: { path: logOf(sites.tokyo.nginx!), format: 'nginx', timezone: 'UTC' },
    });
    const log = proxyLog(out.evidence);
    expect(log?.errors).toBe(0);
    expect(log?.future).toBe(3);
    expect(out.summary).toMatch(/3 lines? from the future/);
  });

  it('lets a line a few seconds ahead (clock skew between hosts) count', () => {
    const inTen = new Date(Date.now() + 10_000);
    const two = (n: number) => String(n).padStart(2, '0');
    const stamp = `${inTen.getUTCFullYear()}/${two(inTen.getUTCMonth() + 1)}/${two(inTen.getUTCDate())} ${two(inTen.getUTCHours())}:${two(inTen.getUTCMinutes())}:${two(inTen.getUTCSeconds())}`;
    const line = `${stamp} [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://10.0.1.11:8080/", host: "edge"`;
    const counts = summariseLog(line, 'nginx', Date.now() - 60_000, { timeZone: 'UTC', now: Date.now() });
    expect(counts).toMatchObject({ errors: 1, future: 0 });
  });

  it.each([
    ['Mars/Olympus_Mons', false],
    ['not a zone', false],
    ['Europe/Berlin', true],
    ['UTC', true],
  ])('timezone %j is %s as an IANA name', (zone, valid) => {
    const text = `service: edge\nchecks:\n  proxy:\n    error_log:\n      path: /var/log/nginx/error.log\n      timezone: ${JSON.stringify(zone)}\n`;
    const { playbook, problems } = parsePlaybook(text, 'playbooks/edge.yaml');
    expect(playbook !== undefined).toBe(valid);
    if (!valid) expect(problems[0]).toMatchObject({ line: 6, field: 'checks.proxy.error_log.timezone' });
  });
});
