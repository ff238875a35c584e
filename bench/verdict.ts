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
 * Then the lifecycle (issue 16), on two more services with PagerDuty faked over HTTP: 20 PagerDuty
 * incidents in a row, each resolved before the next (a fresh diagnosis each), and 20 distinct PagerDuty
 * incidents within a few seconds (one diagnosis; each named in the thread and noted on its own
 * incident): time from the webhook to both.
 *
 *   npm run bench:verdict           (node --import tsx bench/verdict.ts)
 *   N=100 npm run bench:verdict
 *   N=0 npm run bench:verdict     (the lifecycle part alone)
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
import { silentLogger } from '../src/log.js';
import { start } from '../src/main.js';
import { type Playbook, PlaybookSchema } from '../src/playbooks/schema.js';
import { signPagerDuty } from '../src/signing.js';
import { IncidentStore } from '../src/store/store.js';
import { FakePagerDuty } from '../test/helpers/fake-pagerduty.js';
import { FakeSlack as LocalSlack } from '../test/helpers/fake-slack.js';
import { waitFor } from '../test/helpers/ports.js';
import { startRedis } from '../test/helpers/redis.js';

/** Lifecycle runs: incidents in a row, and incidents in a burst (one every BURST_GAP_MS). */
const ROW = 20;
const BURST = 20;
const BURST_GAP_MS = 150;
const PD_TOKEN = 'bench-pd-token';

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

function delivery(incidentId: string, serviceId: string, eventType = 'incident.triggered') {
  const env = structuredClone(TEMPLATE);
  env.event.id = randomUUID();
  env.event.event_type = eventType;
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
  // A snapshot taken once: the target must look idle however busy this process (and the machine) is,
  // or the load check rightly calls it saturated and the benchmark measures the wrong verdict.
  const exposition = await registry.metrics();
  const metrics = await serve((_, res) => res.end(exposition));
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
  const services = Array.from({ length: N > 0 ? N + WARMUP : 0 }, (_, i) => ({
    name: `bench-${i}`,
    pd: `PBENCH${i}`,
  }));
  const lifecycleServices = [
    { name: 'bench-row', pd: 'PROW' },
    { name: 'bench-burst', pd: 'PBURST' },
  ];
  const pd = await new FakePagerDuty(PD_TOKEN).start();
  const playbooks: Playbook[] = [...services, ...lifecycleServices].map((s) =>
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
      PAGERDUTY_API_TOKEN: PD_TOKEN,
      PAGERDUTY_API_URL: pd.url,
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
  let lifecycle: Awaited<ReturnType<typeof lifecycleRuns>> | null = null;
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
    lifecycle = await lifecycleRuns(`http://127.0.0.1:${running.port}`, slack, pd);
  } finally {
    await running.close();
    await pd.stop();
    storeRedis.disconnect();
    await slack.stop();
    await Promise.all([...upstreams, proxy, metrics].map((s) => new Promise((r) => s.server.close(r))));
    await redis.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  totals.sort((a, b) => a - b);
  overheads.sort((a, b) => a - b);
  const f = (n: number) => `${n.toFixed(1)} ms`;
  // N=0 runs the lifecycle part alone.
  if (totals.length > 0) {
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
  if (lifecycle) {
    const { row, burst, verdictReplies } = lifecycle;
    row.sort((a, b) => a - b);
    burst.sort((a, b) => a - b);
    console.log(
      `\nlifecycle: ${ROW} PagerDuty incidents in a row, each resolved before the next; ${BURST} within ${((BURST - 1) * BURST_GAP_MS) / 1000} s`,
    );
    console.log('| measure | p50 | p95 | max |\n|---|---|---|---|');
    console.log(
      `| in a row: webhook → verdict reply naming it + note on it | ${f(pct(row, 50))} | ${f(pct(row, 95))} | ${f(row.at(-1)!)} |`,
    );
    console.log(
      `| burst: webhook → named in the thread + note on it | ${f(pct(burst, 50))} | ${f(pct(burst, 95))} | ${f(burst.at(-1)!)} |`,
    );
    console.log(
      `burst: ${verdictReplies} verdict repl${verdictReplies === 1 ? 'y' : 'ies'} (diagnosed once: ${verdictReplies === 1 ? 'yes' : 'NO'}); every incident named and noted once: yes`,
    );
  }
}

type Send = { body: string; headers: Record<string, string> };

async function send(base: string, d: Send): Promise<{ incident?: string; status?: string }> {
  const res = await request(`${base}/webhooks/pagerduty`, {
    method: 'POST',
    headers: d.headers,
    body: d.body,
  });
  const answer = (await res.body.json()) as { incident?: string; status?: string };
  if (res.statusCode !== 202) throw new Error(`webhook answered ${res.statusCode} ${JSON.stringify(answer)}`);
  return answer;
}

/**
 * Issue 16's two shapes on one service each: incidents one after another (each resolved first), and a burst
 * of distinct incidents. Each time stops once the incident is named in Slack and noted on its PagerDuty incident.
 */
async function lifecycleRuns(base: string, slack: LocalSlack, pd: FakePagerDuty) {
  const named = (id: string) =>
    slack.messages.some(
      (m) => m.thread_ts && (m.metadata?.event_payload?.incident === id || m.text.includes(id)),
    );
  const noted = (id: string) => (pd.incidents.get(id)?.notes.length ?? 0) >= 1;
  const row: number[] = [];
  for (let i = 0; i < ROW; i++) {
    const id = `QROW${i}`;
    pd.addIncident(id);
    const t0 = performance.now();
    const answer = await send(base, delivery(id, 'PROW'));
    if (answer.status !== 'queued')
      throw new Error(`in a row: ${id} was ${answer.status}, not a new incident`);
    await waitFor(async () => named(id) && noted(id), 30_000, `${id} named and noted`);
    row.push(performance.now() - t0);
    const end = await send(base, delivery(id, 'PROW', 'incident.resolved'));
    if (end.status !== 'updated') throw new Error(`in a row: the resolve of ${id} was ${end.status}`);
  }
  const burst: number[] = [];
  await Promise.all(
    Array.from({ length: BURST }, async (_, i) => {
      const id = `QBURST${i}`;
      pd.addIncident(id);
      await new Promise((r) => setTimeout(r, i * BURST_GAP_MS));
      const t0 = performance.now();
      await send(base, delivery(id, 'PBURST'));
      await waitFor(async () => named(id) && noted(id), 30_000, `${id} named and noted`);
      burst.push(performance.now() - t0);
    }),
  );
  const verdictReplies = slack.messages.filter(
    (m) =>
      m.metadata?.event_type === 'gatewatch_verdict' && m.metadata.event_payload.service === 'bench-burst',
  ).length;
  for (let i = 0; i < BURST; i++)
    if (pd.incidents.get(`QBURST${i}`)!.notes.length !== 1) throw new Error(`QBURST${i} was noted twice`);
  return { row, burst, verdictReplies };
}

await main();
