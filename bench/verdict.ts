/**
 * Time to verdict (issue 5): a benchmark, not a timed test.
 *
 * A signed PagerDuty incident.triggered goes into an in-process gatewatch
 * (server and worker, Slack faked over HTTP); the clock stops when the fake
 * Slack receives the verdict reply. Every check of the playbook runs against a
 * fast, healthy local target: upstream and proxy (plain node:http servers, an
 * empty error log), load (a prom-client exposition endpoint), database (the
 * private Redis) and changes (a temp git repo). Reports p50/p95 of the total
 * and of the overhead beyond the slowest check (target p95 ≤ 100 ms).
 *
 *   npm run bench:verdict           (node --import tsx bench/verdict.ts)
 *   N=100 npm run bench:verdict
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { request } from 'undici';
import { loadConfig } from '../src/config.js';
import { LocalSlack } from '../src/demo/local-slack.js';
import { silentLogger } from '../src/log.js';
import { start } from '../src/main.js';
import { type Playbook, PlaybookSchema } from '../src/playbooks/schema.js';
import { signPagerDuty } from '../src/sources/signing.js';
import { IncidentStore } from '../src/store/store.js';
import { startRedis } from '../test/helpers/redis.js';

const N = Number(process.env.N ?? 50);
const WARMUP = 3;
const SECRET = 'bench-verdict-secret';
const ROOT = new URL('../', import.meta.url).pathname;
const TEMPLATE = JSON.parse(
  readFileSync(join(ROOT, 'test/fixtures/pagerduty/incident.triggered.json'), 'utf8'),
);

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function delivery(incidentId: string, serviceId: string) {
  const env = structuredClone(TEMPLATE);
  env.event.id = randomUUID();
  env.event.occurred_at = new Date().toISOString();
  env.event.data.id = incidentId;
  env.event.data.service.id = serviceId;
  const body = JSON.stringify(env);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-pagerduty-signature': signPagerDuty(body, SECRET),
      'x-webhook-id': randomUUID(),
    },
  };
}

async function main() {
  const redis = await startRedis();
  const slack = await new LocalSlack().start();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const upstreams = await Promise.all([0, 1].map(() => serve((_, res) => res.end('ok'))));
  const proxy = await serve((_, res) => res.end('ok'));
  const metrics = await serve(async (_, res) => res.end(await registry.metrics()));
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-verdict-'));
  const errorLog = join(dir, 'error.log');
  writeFileSync(errorLog, '');
  const repo = join(dir, 'repo');
  execFileSync('git', ['init', '-q', repo]);
  writeFileSync(join(repo, 'app.js'), 'v1');
  execFileSync('git', ['-C', repo, 'add', '-A']);
  execFileSync(
    'git',
    ['-C', repo, '-c', 'user.name=bench', '-c', 'user.email=b@example.test', 'commit', '-q', '-m', 'v1'],
    {
      env: { ...process.env, GIT_AUTHOR_DATE: '@1700000000 +0000', GIT_COMMITTER_DATE: '@1700000000 +0000' },
    },
  );

  // One service per alert: an open incident would otherwise absorb the next alert of its service.
  const services = Array.from({ length: N + WARMUP }, (_, i) => ({ name: `bench-${i}`, pd: `PBENCH${i}` }));
  const playbooks: Playbook[] = services.map((s) =>
    PlaybookSchema.parse({
      service: s.name,
      match: { pagerduty_services: [s.pd] },
      slack: { channel: '#bench' },
      checks: {
        proxy: { url: `${proxy.url}/health`, samples: 3, error_log: { path: errorLog, format: 'nginx' } },
        upstream: { targets: upstreams.map((u) => `${u.url}/healthz`), probes: 3 },
        load: { scrape: [`${metrics.url}/metrics`], sample_interval_ms: 100 },
        database: { kind: 'redis', url_env: 'BENCH_DB_URL' },
        changes: { window_minutes: 60, git: { repo, paths: [] } },
      },
    }),
  );
  const prefix = `{bench-verdict-${randomUUID().slice(0, 8)}}`;
  const env = { BENCH_DB_URL: redis.url };
  const running = await start({
    config: loadConfig({
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      HOST: '127.0.0.1',
      PORT: '0',
      PAGERDUTY_WEBHOOK_SECRETS: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_API_URL: slack.url,
      SLACK_CHANNEL: '#bench',
    }),
    log: silentLogger(),
    serve: true,
    work: true,
    playbooks: new Map(playbooks.map((p) => [p.service, p])),
    env: { ...process.env, ...env },
  });
  const storeRedis = new Redis(redis.url);
  const store = new IncidentStore(storeRedis, prefix);

  const totals: number[] = [];
  const overheads: number[] = [];
  const slowest: Record<string, number> = {};
  try {
    for (const [i, s] of services.entries()) {
      const incident = `QBENCH${i}`;
      const { body, headers } = delivery(incident, s.pd);
      const t0 = performance.now();
      const res = await request(`http://127.0.0.1:${running.port}/webhooks/pagerduty`, {
        method: 'POST',
        headers,
        body,
      });
      const answer = (await res.body.json()) as { incident?: string };
      if (res.statusCode !== 202 || !answer.incident)
        throw new Error(`webhook answered ${res.statusCode} ${JSON.stringify(answer)}`);
      await slack.waitFor(
        () =>
          slack.messages.find(
            (m) =>
              m.metadata?.event_type === 'gatewatch_verdict' && m.metadata.event_payload.service === s.name,
          ),
        30_000,
      );
      const total = performance.now() - t0;
      let verdict = (await store.get(answer.incident))?.verdict;
      for (let tries = 0; !verdict && tries < 50; tries++) {
        await new Promise((r) => setTimeout(r, 20));
        verdict = (await store.get(answer.incident))?.verdict;
      }
      if (!verdict) throw new Error(`no verdict stored for ${answer.incident}`);
      if (verdict.cause !== 'recovered')
        throw new Error(`healthy targets gave ${verdict.cause}: ${verdict.summary}`);
      if (i < WARMUP) continue;
      const top = verdict.checks.reduce((a, c) => (c.duration_ms > a.duration_ms ? c : a));
      slowest[top.name] = (slowest[top.name] ?? 0) + 1;
      totals.push(total);
      overheads.push(total - top.duration_ms);
    }
  } finally {
    await running.close();
    storeRedis.disconnect();
    await slack.stop();
    await Promise.all([...upstreams, proxy, metrics].map((s) => new Promise((r) => s.server.close(r))));
    await redis.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  totals.sort((a, b) => a - b);
  overheads.sort((a, b) => a - b);
  const f = (n: number) => `${n.toFixed(1)} ms`;
  console.log(
    `time to verdict, ${N} alerts in sequence (after ${WARMUP} warm-up), ${cpus().length} CPUs, Node ${process.version}`,
  );
  console.log('| measure | p50 | p95 | max |\n|---|---|---|---|');
  console.log(
    `| webhook sent → verdict reply at Slack | ${f(pct(totals, 50))} | ${f(pct(totals, 95))} | ${f(totals.at(-1)!)} |`,
  );
  console.log(
    `| overhead beyond the slowest check | ${f(pct(overheads, 50))} | ${f(pct(overheads, 95))} | ${f(overheads.at(-1)!)} |`,
  );
  console.log(
    `slowest check: ${Object.entries(slowest)
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ')}`,
  );
  console.log(
    `overhead p95 ${pct(overheads, 95) <= 100 ? '≤' : '>'} 100 ms target: ${pct(overheads, 95) <= 100 ? 'met' : 'NOT met'}`,
  );
}

await main();
