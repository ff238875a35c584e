/**
 * Verdict duration on real broken worlds: runs the scenario suite (real nginx,
 * HAProxy, PostgreSQL and failing processes; `test/scenarios`) and reports the
 * `duration_ms` of every verdict it judged, with p50/p95 over all worlds
 * (target p95 ≤ 3 s) and the share judged right. A benchmark, not a test: the
 * suite asserts correctness, this measures how long the evidence took.
 *
 *   npm run bench:verdict-worlds     (node --import tsx bench/verdict-worlds.ts)
 *   BURN=2 npm run bench:verdict-worlds     with two CPU burners, as on a busy machine
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Judged {
  title: string;
  scenario: string;
  got: string;
  confidence: number;
  duration_ms: number;
  ok: boolean;
}

const ROOT = new URL('../', import.meta.url).pathname;
const FILE = join(tmpdir(), `gatewatch-verdict-worlds-${process.pid}.jsonl`);
const BURN = Number(process.env.BURN ?? 0);

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

const burners = Array.from({ length: BURN }, () =>
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
const started = Date.now();
const run = spawnSync('npx', ['vitest', 'run', 'test/scenarios'], {
  cwd: ROOT,
  env: { ...process.env, GATEWATCH_VERDICTS_FILE: FILE },
  stdio: ['ignore', 'ignore', 'inherit'],
});
for (const b of burners) b.kill('SIGKILL');
if (!existsSync(FILE)) {
  console.error(`the scenario suite judged nothing (exit ${run.status})`);
  process.exit(1);
}
const rows = readFileSync(FILE, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Judged);
rmSync(FILE, { force: true });

const ms = rows.map((r) => r.duration_ms);
console.log(
  `${rows.length} verdicts on real worlds in ${Math.round((Date.now() - started) / 1000)} s (suite exit ${run.status}, ${BURN} CPU burners): p50 ${percentile(ms, 50)} ms, p95 ${percentile(ms, 95)} ms, max ${Math.max(...ms)} ms; ${rows.filter((r) => r.ok).length}/${rows.length} right\n`,
);
console.log('| world | verdict | confidence | duration |');
console.log('|---|---|---|---|');
for (const r of [...rows].sort((a, b) => b.duration_ms - a.duration_ms))
  console.log(
    `| ${r.scenario} | ${r.got}${r.ok ? '' : ' (WRONG)'} | ${r.confidence.toFixed(2)} | ${r.duration_ms} ms |`,
  );
