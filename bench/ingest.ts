/**
 * Ingest benchmark (issue 3): a benchmark, not a timed test.
 *
 * 1. Throughput: signed PagerDuty webhooks per second through `gatewatch serve`
 *    into BullMQ, against a bare node:http server doing only JSON parse + HMAC +
 *    queue.add (bench/ingest-bare-server.ts), same Redis, same load, same run.
 *    Reports both rates, their ratio (target ≥ 0.8) and latency percentiles.
 * 2. Storm: 10,000 duplicate alerts of one incident into `gatewatch serve`, with one `gatewatch worker`
 *    (server and worker, Slack faked over HTTP): Slack calls made (target: one
 *    root message, at most one edit per 2 s) and the process's peak RSS (target ≤ 150 MB).
 *
 *   npm run bench:ingest                 (node --import tsx bench/ingest.ts)
 *   SECONDS_EACH=5 STORM=20000 npm run bench:ingest
 *
 * Everything runs on 127.0.0.1 against a private redis-server; about 45 s in all.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { stringify } from 'yaml';
import { signPagerDuty } from '../src/signing.js';
import { FakeSlack as LocalSlack } from '../test/helpers/fake-slack.js';
import { freePort, waitFor } from '../test/helpers/ports.js';
import { type PrivateRedis, startRedis } from '../test/helpers/redis.js';

const ROOT = new URL('../', import.meta.url).pathname;
const SECONDS_EACH = Number(process.env.SECONDS_EACH ?? 6);
/** The load alternates between the two servers in slices this long (ms). */
const SLICE_MS = Number(process.env.SLICE_MS ?? 1000);
const ROUNDS = [1, 2];
const STORM = Number(process.env.STORM ?? 10_000);
const CONNECTIONS = 32;
const IN_FLIGHT = 64;
const SERVICES = 100;
const SECRET = 'bench-ingest-secret';
const TEMPLATE = JSON.parse(
  readFileSync(join(ROOT, 'test/fixtures/pagerduty/incident.triggered.json'), 'utf8'),
);

/** A signed PagerDuty incident.triggered delivery, as PagerDuty would send it. */
function delivery(incidentId: string, serviceId: string): { body: string; headers: Record<string, string> } {
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

/**
 * The compiled CLI, as the Docker image runs it, so RSS is not inflated by
 * the TypeScript loader; the sources through tsx if the build fails.
 */
function compile(): { cli: string; mode: string; cleanup(): void } {
  const out = join(ROOT, '.tmp', `bench-ingest-${process.pid}`);
  // tsc emits even when another file has a type error; only a missing output means failure.
  spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json', '--outDir', out], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  const cli = join(out, 'bin/gatewatch.js');
  if (existsSync(cli))
    return { cli, mode: 'compiled', cleanup: () => rmSync(out, { recursive: true, force: true }) };
  rmSync(out, { recursive: true, force: true });
  return { cli: join(ROOT, 'bin/gatewatch.js'), mode: 'from source through tsx', cleanup: () => {} };
}

function spawnNode(args: string[], env: Record<string, string>): ChildProcess {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'warn',
      ...env,
    },
    // With BENCH_NODE_FLAGS (--trace-gc, say), what the flags print on stdout is shown too.
    stdio: ['ignore', process.env.BENCH_NODE_FLAGS ? 'inherit' : 'ignore', 'inherit'],
  });
  return proc;
}

/**
 * With CPU_PROF_DIR set, each server of the throughput rounds writes a V8 CPU profile there;
 * BENCH_NODE_FLAGS (space-separated) are given to both servers' node, e.g. `--trace-gc`.
 */
const CPU_PROF_DIR = process.env.CPU_PROF_DIR;

async function stop(proc: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (proc.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill(signal);
  });
}

function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

async function healthy(base: string, path = '/healthz'): Promise<void> {
  await waitFor(
    async () => {
      const pool = new Pool(base);
      try {
        const res = await pool.request({ path, method: 'GET' });
        await res.body.dump();
        return res.statusCode < 500;
      } finally {
        await pool.close();
      }
    },
    30_000,
    `${base} to answer`,
  );
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface LoadResult {
  rate: number;
  accepted: number;
  refused: number;
  p50: number;
  p95: number;
  p99: number;
  peakRss?: number;
  /** CPU the server process spent per accepted webhook, µs (user + system): steadier than rates on a shared machine. */
  serverCpuUs?: number;
  /** CPU redis-server spent per accepted webhook, µs. */
  redisCpuUs?: number;
}

/** A process's CPU time so far, ms (user + system, from /proc/PID/stat). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** redis-server's CPU time so far, ms. */
async function redisCpuMs(redis: PrivateRedis): Promise<number> {
  const info = await redis.client().info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/** What one slice of load saw: requests answered 202, others, latencies (ms), elapsed ms. */
interface Slice {
  accepted: number;
  refused: number;
  latencies: number[];
  elapsedMs: number;
}

/** Keeps IN_FLIGHT requests going for `ms` through `pool` (CONNECTIONS keep-alive connections). */
async function load(
  pool: Pool,
  ms: number,
  next: () => { body: string; headers: Record<string, string> },
): Promise<Slice> {
  const latencies: number[] = [];
  let accepted = 0;
  let refused = 0;
  const started = performance.now();
  const end = started + ms;
  const worker = async () => {
    while (performance.now() < end) {
      const { body, headers } = next();
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: '/webhooks/pagerduty', method: 'POST', body, headers });
        await res.body.dump();
        if (res.statusCode === 202) accepted++;
        else refused++;
      } catch {
        refused++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { accepted, refused, latencies, elapsedMs: performance.now() - started };
}

function summary(slices: readonly Slice[]): LoadResult {
  const accepted = slices.reduce((n, s) => n + s.accepted, 0);
  const elapsed = slices.reduce((n, s) => n + s.elapsedMs, 0);
  const sorted = Float64Array.from(slices.flatMap((s) => s.latencies)).sort();
  return {
    rate: accepted / (elapsed / 1000),
    accepted,
    refused: slices.reduce((n, s) => n + s.refused, 0),
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
}

function playbooksDir(upstream?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-playbooks-'));
  for (let i = 0; i < SERVICES; i++)
    writeFileSync(
      join(dir, `svc-${i}.yaml`),
      stringify({
        service: `svc-${i}`,
        match: { pagerduty_services: [`PSVC${i}`] },
        ...(upstream ? { checks: { upstream: { targets: [upstream], probes: 1, timeout_ms: 1000 } } } : {}),
      }),
    );
  return dir;
}

/** One server of the throughput comparison, running for the whole comparison. */
interface Contender {
  kind: 'bare' | 'gatewatch';
  proc: ChildProcess;
  pool: Pool;
  peakRss: number;
}

async function startContender(kind: Contender['kind'], redisUrl: string, cli: string, dir: string) {
  const port = await freePort();
  const prefix = `{bench-${kind}-${randomUUID().slice(0, 8)}}`;
  const profile = [
    ...(CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR] : []),
    ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
  ];
  const proc =
    kind === 'bare'
      ? spawnNode([...profile, '--import', 'tsx', join(ROOT, 'bench/ingest-bare-server.ts')], {
          PORT: String(port),
          REDIS_URL: redisUrl,
          REDIS_PREFIX: prefix,
          SECRET,
        })
      : spawnNode([...profile, cli, 'serve'], {
          PORT: String(port),
          HOST: '127.0.0.1',
          REDIS_URL: redisUrl,
          REDIS_PREFIX: prefix,
          PLAYBOOKS_DIR: dir,
          PAGERDUTY_WEBHOOK_SECRETS: SECRET,
        });
  const base = `http://127.0.0.1:${port}`;
  await healthy(base, kind === 'bare' ? '/' : '/healthz');
  return { kind, proc, pool: new Pool(base, { connections: CONNECTIONS, pipelining: 2 }), peakRss: 0 };
}

/**
 * Both servers run side by side on the same Redis, and the load alternates between them in
 * SLICE_MS slices (who goes first alternates too), so a neighbour's burst of CPU on a shared
 * machine falls on both alike instead of on one server's whole round. A round is SECONDS_EACH
 * seconds of load on each server; the servers keep running from round to round, so anything that
 * grows with the alerts ingested shows as a slower later round.
 */
async function throughput(redis: PrivateRedis, cli: string) {
  const dir = playbooksDir();
  let n = 0;
  // Distinct PagerDuty incidents over 100 services: each service's first opens an incident and
  // queues its diagnosis, the rest join it (a root-message sync job, debounced in BullMQ).
  const next = () => {
    n++;
    return delivery(`PBENCH${n}`, `PSVC${n % SERVICES}`);
  };
  const results: Record<string, LoadResult> = {};
  const contenders: Contender[] = [];
  try {
    for (const kind of ['bare', 'gatewatch'] as const)
      contenders.push(await startContender(kind, redis.url, cli, dir));
    // Warm-up: JIT, connections, script cache.
    for (const c of contenders) await load(c.pool, 1000, next);
    const sampler = setInterval(() => {
      for (const c of contenders) c.peakRss = Math.max(c.peakRss, memoryMb(c.proc.pid!).rss);
    }, 100);
    try {
      const slicesEach = Math.max(1, Math.round((SECONDS_EACH * 1000) / SLICE_MS));
      for (const round of ROUNDS) {
        const slices = new Map<Contender, Slice[]>(contenders.map((c) => [c, []]));
        const cpu = new Map<Contender, { server: number; redis: number }>(
          contenders.map((c) => [c, { server: 0, redis: 0 }]),
        );
        for (let i = 0; i < slicesEach; i++) {
          const order = i % 2 === 0 ? contenders : [...contenders].reverse();
          for (const c of order) {
            const cpu0 = cpuMs(c.proc.pid!);
            const redisCpu0 = await redisCpuMs(redis);
            slices.get(c)!.push(await load(c.pool, SLICE_MS, next));
            const used = cpu.get(c)!;
            used.server += cpuMs(c.proc.pid!) - cpu0;
            used.redis += (await redisCpuMs(redis)) - redisCpu0;
          }
        }
        for (const c of contenders) {
          const r = summary(slices.get(c)!);
          const used = cpu.get(c)!;
          results[`${c.kind}${round}`] = {
            ...r,
            peakRss: Math.max(c.peakRss, memoryMb(c.proc.pid!).rss),
            serverCpuUs: (used.server * 1000) / r.accepted,
            redisCpuUs: (used.redis * 1000) / r.accepted,
          };
          c.peakRss = 0;
        }
      }
    } finally {
      clearInterval(sampler);
    }
  } finally {
    for (const c of contenders) {
      await c.pool.close();
      // A profile is written on a clean exit only.
      await stop(c.proc, CPU_PROF_DIR ? 'SIGTERM' : 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

async function storm(redisUrl: string, cli: string) {
  const upstream = createServer((_, res) => res.end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/healthz`;
  const slack = await new LocalSlack().start();
  const dir = playbooksDir(target);
  const port = await freePort();
  // The deployment shape: one `serve` process taking the storm, one `worker` diagnosing and posting.
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `{bench-storm-${randomUUID().slice(0, 8)}}`,
    PLAYBOOKS_DIR: dir,
    PAGERDUTY_WEBHOOK_SECRETS: SECRET,
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_API_URL: slack.url,
  };
  const proc = spawnNode([cli, 'serve'], env);
  const worker = spawnNode([cli, 'worker'], env);
  const base = `http://127.0.0.1:${port}`;
  try {
    await healthy(base);
    const idle = memoryMb(proc.pid!);
    const workerIdle = memoryMb(worker.pid!);
    let peakRss = idle.rss;
    let workerPeakRss = workerIdle.rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, memoryMb(proc.pid!).rss);
      workerPeakRss = Math.max(workerPeakRss, memoryMb(worker.pid!).rss);
    }, 50);
    let sent = 0;
    const started = performance.now();
    const pool = new Pool(base, { connections: CONNECTIONS, pipelining: 1 });
    let accepted = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (sent < STORM) {
          sent++;
          const { body, headers } = delivery('PSTORM', 'PSVC0');
          const res = await pool.request({ path: '/webhooks/pagerduty', method: 'POST', body, headers });
          await res.body.dump();
          if (res.statusCode === 202) accepted++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await pool.close();
    // Let the last debounced root edit land.
    await slack.waitFor(() => slack.roots()[0]?.text.includes(`· ${STORM} alerts`), 15_000).catch(() => null);
    await new Promise((r) => setTimeout(r, 2500));
    clearInterval(sampler);
    const end = memoryMb(proc.pid!);
    const workerEnd = memoryMb(worker.pid!);
    const roots = slack.callsOf('chat.postMessage').filter((c) => !c.args.thread_ts).length;
    const replies = slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts).length;
    // Edits while the diagnosis runs show check progress (the Slack layer paces those); the
    // alert-count edits of the storm are the ones after the verdict reply.
    const verdictAt = slack.callsOf('chat.postMessage').find((c) => c.args.thread_ts)?.at ?? 0;
    const allEdits = slack.callsOf('chat.update').map((c) => c.at);
    const edits = allEdits.filter((t) => t > verdictAt);
    const gaps = edits.slice(1).map((t, i) => t - edits[i]!);
    const allGaps = allEdits.slice(1).map((t, i) => t - allEdits[i]!);
    return {
      seconds,
      accepted,
      roots,
      replies,
      edits: edits.length,
      editsDuringDiagnosis: allEdits.length - edits.length,
      minGapMs: gaps.length ? Math.min(...gaps) : Number.NaN,
      minGapAllMs: allGaps.length ? Math.min(...allGaps) : Number.NaN,
      finalText: slack.roots()[0]?.text ?? '',
      idleRss: idle.rss,
      peakRss: Math.max(peakRss, end.peak),
      workerIdleRss: workerIdle.rss,
      workerPeakRss: Math.max(workerPeakRss, workerEnd.peak),
    };
  } finally {
    await stop(proc);
    await stop(worker);
    await slack.stop();
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const startLoad = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const build = compile();
  const redis = await startRedis();
  try {
    const t = await throughput(redis, build.cli);
    const s = await storm(redis.url, build.cli);
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    const secs = (v: number) => (Number.isFinite(v) ? `${(v / 1000).toFixed(2)} s` : 'n/a');
    const rate = (k: string) => ROUNDS.reduce((sum, r) => sum + t[`${k}${r}`]!.rate, 0) / ROUNDS.length;
    const ratio = rate('gatewatch') / rate('bare');
    const out = [
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
      `gatewatch: ${build.mode}; load average at the start: ${startLoad}`,
      `load: ${IN_FLIGHT} requests in flight over ${CONNECTIONS} connections, ${SECONDS_EACH} s per server per round in ${SLICE_MS} ms slices alternating between the two servers, after a 1 s warm-up`,
      '',
      '| server | webhooks/s | p50 | p95 | p99 | server CPU/webhook | Redis CPU/webhook | refused | peak RSS |',
      '|---|---|---|---|---|---|---|---|---|',
      ...Object.entries(t).map(
        ([k, v]) =>
          `| ${k.startsWith('bare') ? 'bare node:http (parse + HMAC + queue.add)' : 'gatewatch serve'}, round ${k.slice(-1)} | ${v.rate.toFixed(0)} | ${ms(v.p50)} | ${ms(v.p95)} | ${ms(v.p99)} | ${(v.serverCpuUs ?? 0).toFixed(0)} µs | ${(v.redisCpuUs ?? 0).toFixed(0)} µs | ${v.refused} | ${(v.peakRss ?? 0).toFixed(0)} MB |`,
      ),
      '',
      `ratio per round: ${ROUNDS.map((r) => (t[`gatewatch${r}`]!.rate / t[`bare${r}`]!.rate).toFixed(2)).join(', ')}; load average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
      '',
      `mean webhooks/s: bare ${rate('bare').toFixed(0)}, gatewatch ${rate('gatewatch').toFixed(0)}; ratio ${ratio.toFixed(2)} (target ≥ 0.8) ${ratio >= 0.8 ? 'MET' : 'NOT MET'}`,
      '',
      `storm: ${STORM} duplicate alerts of one incident into gatewatch serve (+ one worker) in ${s.seconds.toFixed(1)} s (${(STORM / s.seconds).toFixed(0)}/s), ${s.accepted} accepted`,
      '',
      '| Slack | count | target |',
      '|---|---|---|',
      `| root messages (chat.postMessage) | ${s.roots} | 1 |`,
      `| verdict replies | ${s.replies} | 1 |`,
      `| root edits for the alert count (after the verdict) | ${s.edits} | ≤ 1 per 2 s |`,
      `| shortest gap between those edits | ${secs(s.minGapMs)} | ≥ 2 s |`,
      `| root edits while diagnosing (check progress, verdict) | ${s.editsDuringDiagnosis} | — |`,
      `| shortest gap between any two edits | ${secs(s.minGapAllMs)} | — |`,
      '',
      `final root message: ${s.finalText}`,
      `gatewatch serve RSS: idle ${s.idleRss.toFixed(0)} MB, peak ${s.peakRss.toFixed(0)} MB (target ≤ 150 MB) ${s.peakRss <= 150 ? 'MET' : 'NOT MET'}`,
      `gatewatch worker RSS: idle ${s.workerIdleRss.toFixed(0)} MB, peak ${s.workerPeakRss.toFixed(0)} MB`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await redis.destroy();
    build.cleanup();
  }
}

await main();
