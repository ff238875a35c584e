import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheck } from '../../src/checks/load/check.js';
import { redactUserinfo } from '../../src/checks/redact.js';
import { runChecks } from '../../src/checks/runner.js';
import { silentLogger } from '../../src/log.js';
import { LoadCheckSchema } from '../../src/playbooks/schema.js';
import { checkContext } from '../helpers/check-context.js';
import { playbook } from '../helpers/gatewatch.js';
import { refusingUpstream, type Upstream } from '../helpers/upstreams.js';

describe('URL userinfo never reaches evidence', () => {
  it.each([
    ['http://ops:pa55word@10.0.1.12:8080/healthz', 'http://[redacted]@10.0.1.12:8080/healthz'],
    ['GET https://reader:x%40y@prom:9090/api failed', 'GET https://[redacted]@prom:9090/api failed'],
    ['tcp://user@10.0.0.1:5432 refused', 'tcp://[redacted]@10.0.0.1:5432 refused'],
    ['http://prometheus:9090/prefix/@team is fine', 'http://prometheus:9090/prefix/@team is fine'],
    ['mail me at ops@example.com', 'mail me at ops@example.com'],
  ])('%s', (text, clean) => {
    expect(redactUserinfo(text)).toBe(clean);
  });

  describe('a playbook that reached the runner with credentials in a target', () => {
    let dead: Upstream;
    beforeAll(async () => {
      dead = await refusingUpstream();
    });
    afterAll(async () => {
      await dead.close();
    });

    it('has them redacted from the check result, summary and evidence alike', async () => {
      const pb = playbook({ service: 's', checks: { upstream: { targets: [dead.url], probes: 1 } } });
      // The schema refuses this; the runner's redaction is the second line of defence.
      const withCredentials = dead.url.replace('http://', 'http://ops:pa55word@');
      pb.checks.upstream!.targets = [withCredentials];
      const [result] = await runChecks(pb, {
        log: silentLogger(),
        env: {},
        now: Date.now,
        onsetAt: Date.now(),
      });
      expect(result?.status).toBe('fail');
      const json = JSON.stringify(result);
      expect(json).not.toContain('pa55word');
      expect(json).toContain(`http://[redacted]@127.0.0.1:${dead.port}/healthz`);
    });
  });
});

describe('load endpoints behind HTTP authentication: the *_env way', () => {
  // RFC 7617's own example: Aladdin / open sesame.
  const AUTH = 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==';
  let server: Server;
  let base: string;
  const seen: (string | undefined)[] = [];

  beforeAll(async () => {
    let cpu = 10;
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization !== AUTH) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="metrics"' }).end('unauthorized');
        return;
      }
      if (req.url === '/api/v1/query') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            status: 'success',
            data: {
              resultType: 'vector',
              result: [{ metric: { instance: 'app:9100' }, value: [1, '0.25'] }],
            },
          }),
        );
        return;
      }
      cpu += 0.05;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`process_cpu_seconds_total ${cpu}\nprocess_resident_memory_bytes 1048576\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const run = (env: Record<string, string>) =>
    loadCheck.run(
      LoadCheckSchema.parse({
        prometheus: base,
        scrape: [`${base}/metrics`],
        sample_interval_ms: 200,
        authorization_env: 'METRICS_AUTH',
      }),
      checkContext({ env, timeoutMs: 5000 }),
    );

  it('sends the Authorization header the named variable holds to Prometheus and scrapes', async () => {
    const out = await run({ METRICS_AUTH: AUTH });
    expect(out.evidence.map((e) => e.error)).toEqual([null, null]);
    expect(out.evidence.map((e) => e.source).sort()).toEqual(['process', 'prometheus']);
    expect(JSON.stringify(out)).not.toContain('QWxhZGRpbjpvcGVuIHNlc2FtZQ');
  });

  it('names the variable, never a value, when it is not set', async () => {
    const before = seen.length;
    const out = await run({});
    expect(out.status).toBe('error');
    expect(out.summary).toMatch(/METRICS_AUTH is not set/);
    expect(seen.length).toBe(before);
  });
});
