/**
 * Memory of `gatewatch serve` and `gatewatch worker` as separate processes: RSS
 * idle, peak during a storm of 10,000 signed duplicate PagerDuty alerts, and
 * after it. Target: ≤ 150 MB RSS each. Writes its table into bench/README.md.
 *
 *   npm run bench:memory            (node --import tsx bench/memory.ts)
 *   ALERTS=20000 CONCURRENCY=100 npm run bench:memory
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { stringify } from 'yaml';
import { signPagerDuty } from '../src/signing.js';
import { FakeSlack as LocalSlack } from '../test/helpers/fake-slack.js';
import { freePort, waitFor } from '../test/helpers/ports.js';
import { startRedis } from '../test/helpers/redis.js';

const ROOT = new URL('../', import.meta.url).pathname;
const ALERTS = Number(process.env.ALERTS ?? 10_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
const TARGET_MB = 150;
const SECRET = 'bench-memory-secret';

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** The compiled CLI, as the Docker image runs it; falls back to the TypeScript sources through tsx. */
function entrypoint(): { args: string[]; mode: string; cleanup(): void } {
  const out = join(ROOT, '.tmp', `bench-dist-${process.pid}`);
  try {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json', '--outDir', out], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    const demoJson = join(ROOT, 'src/demo/pagerduty-incident.triggered.json');
    if (existsSync(demoJson))
      writeFileSync(join(out, 'demo/pagerduty-incident.triggered.json'), readFileSync(demoJson));
    return {
      args: [join(out, 'bin/gatewatch.js')],
      mode: 'compiled (dist, as in the Docker image)',
      cleanup: () => rmSync(out, { recursive: true, force: true }),
    };
  } catch {
    rmSync(out, { recursive: true, force: true });
    return {
      args: [join(ROOT, 'bin/gatewatch.js')],
      mode: 'from source through tsx (the build failed; this overstates RSS)',
      cleanup: () => {},
    };
  }
}

function spawnGatewatch(args: string[], command: string, env: Record<string, string>): ChildProcess {
  const proc = spawn(process.execPath, [...args, command], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return proc;
}

function pdBody(eventId: string): string {
  return JSON.stringify({
    event: {
      id: eventId,
      event_type: 'incident.triggered',
      resource_type: 'incident',
      occurred_at: new Date().toISOString(),
      data: {
        id: 'PBENCH1',
        type: 'incident',
        title: 'bench-api 502 Bad Gateway',
        html_url: 'https://example.pagerduty.com/incidents/PBENCH1',
        service: { id: 'PBENCHS', type: 'service_reference' },
      },
    },
  });
}

async function main() {
  const redis = await startRedis();
  const slack = await new LocalSlack().start();
  const playbooks = mkdtempSync(join(tmpdir(), 'gw-bench-pb-'));
  const deadPort = await freePort();
  writeFileSync(
    join(playbooks, 'bench-api.yaml'),
    stringify({
      service: 'bench-api',
      match: { pagerduty_services: ['PBENCHS'] },
      checks: {
        upstream: { targets: [`http://127.0.0.1:${deadPort}/healthz`], probes: 1, timeout_ms: 1000 },
      },
    }),
  );
  const entry = entrypoint();
  const port = await freePort();
  const env = {
    REDIS_URL: redis.url,
    REDIS_PREFIX: '{gwbench}',
    PLAYBOOKS_DIR: playbooks,
    PAGERDUTY_WEBHOOK_SECRETS: SECRET,
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_API_URL: slack.url,
    HOST: '127.0.0.1',
    PORT: String(port),
  };
  const serve = spawnGatewatch(entry.args, 'serve', env);
  const worker = spawnGatewatch(entry.args, 'worker', env);
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY });
  try {
    await waitFor(
      async () => {
        const r = await pool.request({ path: '/readyz', method: 'GET' });
        await r.body.dump();
        return r.statusCode === 200;
      },
      30_000,
      'gatewatch serve',
    );
    await new Promise((r) => setTimeout(r, 3000)); // let both processes finish starting
    const idle = { serve: rssMb(serve.pid!), worker: rssMb(worker.pid!) };

    const peak = { ...idle };
    const sampler = setInterval(() => {
      peak.serve = Math.max(peak.serve, rssMb(serve.pid!));
      peak.worker = Math.max(peak.worker, rssMb(worker.pid!));
    }, 50);
    const statuses = new Map<number, number>();
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ALERTS) {
          const i = next++;
          const body = pdBody(`EVBENCH${i}`);
          const r = await pool.request({
            path: '/webhooks/pagerduty',
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-pagerduty-signature': signPagerDuty(body, SECRET),
            },
            body,
          });
          await r.body.dump();
          statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    await slack.waitFor(
      () => slack.messages.some((m) => m.metadata?.event_type === 'gatewatch_verdict'),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 5000)); // the debounced root-message edits drain
    clearInterval(sampler);
    const after = { serve: rssMb(serve.pid!), worker: rssMb(worker.pid!) };

    const fmt = (n: number) => n.toFixed(0);
    const verdict = (n: number) => (n <= TARGET_MB ? 'yes' : '**no**');
    const section = [
      '## Memory (bench/memory.ts)',
      '',
      '`npm run bench:memory`: `gatewatch serve` and `gatewatch worker` as separate processes against a',
      `private redis-server; RSS from /proc/PID/status. Storm: ${ALERTS.toLocaleString('en')} signed duplicate`,
      `PagerDuty \`incident.triggered\` alerts (one incident), ${CONCURRENCY} at a time. Target ≤ ${TARGET_MB} MB each.`,
      '',
      '| process | idle MB | peak during storm MB | after storm MB | within target |',
      '|---|---|---|---|---|',
      `| serve | ${fmt(idle.serve)} | ${fmt(peak.serve)} | ${fmt(after.serve)} | ${verdict(peak.serve)} |`,
      `| worker | ${fmt(idle.worker)} | ${fmt(peak.worker)} | ${fmt(after.worker)} | ${verdict(peak.worker)} |`,
      '',
      `Storm: ${seconds.toFixed(1)} s (${(ALERTS / seconds).toFixed(0)} alerts/s), answers ${[...statuses]
        .map(([s, n]) => `${n}× ${s}`)
        .join(', ')}; Slack calls: ${slack.calls.length}.`,
      `Run ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} CPUs, ${entry.mode}.`,
      '',
    ].join('\n');
    process.stdout.write(`${section}\n`);
    const readme = join(ROOT, 'bench/README.md');
    const start = '<!-- memory:start -->';
    const end = '<!-- memory:end -->';
    const block = `${start}\n${section}${end}\n`;
    const current = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
    const at = current.indexOf(start);
    const updated =
      at >= 0
        ? current.slice(0, at) + block + current.slice(current.indexOf(end) + end.length + 1)
        : `${current}${current && !current.endsWith('\n\n') ? '\n' : ''}${block}`;
    writeFileSync(readme, updated);
  } finally {
    await pool.close();
    serve.kill('SIGTERM');
    worker.kill('SIGTERM');
    await Promise.all(
      [serve, worker].map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))),
    );
    entry.cleanup();
    await slack.stop();
    await redis.destroy();
    rmSync(playbooks, { recursive: true, force: true });
  }
}

await main();
