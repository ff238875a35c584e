import { execFile, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, expect } from 'vitest';
import { stringify } from 'yaml';
import type { Verdict } from '../../src/verdict/types.js';
import { requireBinary } from '../helpers/binaries.js';
import { startNginx } from '../helpers/nginx.js';
import { nginxProxyCheck, nginxSite, proxyPass, upstreamCheck } from '../helpers/sites.js';

const run = promisify(execFile);
const APP = fileURLToPath(new URL('./app.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface App {
  port: number;
  url: string;
  metricsUrl: string;
  stop(): Promise<void>;
}

export interface Service {
  /** The JSON the process printed once it was ready. */
  ready: Record<string, unknown>;
  /** Every later JSON line it prints (a supervisor's restarts), as they come. */
  events: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Spawns a stand-in process and waits for the JSON line it prints once it is ready. */
export async function startService(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  what = args[0] ?? command,
): Promise<Service> {
  const proc = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 2000).unref();
    });
  const lines = createInterface({ input: proc.stdout! });
  const events: Record<string, unknown>[] = [];
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 10 s`)), 10_000);
    proc.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
    let first = true;
    lines.on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (!first) return void events.push(parsed);
      first = false;
      clearTimeout(timer);
      resolve(parsed);
    });
  }).catch(async (err) => {
    await stop();
    throw err;
  });
  return { ready, events, stop };
}

/** A service process (see app.mjs for the modes), optionally on a given port. */
export async function startApp(
  mode: string,
  arg = '',
  opts: { port?: number; env?: Record<string, string>; script?: string } = {},
): Promise<App> {
  const script = opts.script ? fileURLToPath(new URL(opts.script, import.meta.url)) : APP;
  const svc = await startService(
    process.execPath,
    [script, mode, arg],
    { ...opts.env, PORT: String(opts.port ?? 0) },
    `app ${mode}`,
  );
  const port = svc.ready.port as number;
  const base = `http://127.0.0.1:${port}`;
  return { port, url: `${base}/healthz`, metricsUrl: `${base}/metrics`, stop: svc.stop };
}

export interface Commit {
  minutesAgo: number;
  subject: string;
  author?: string;
  files: Record<string, string>;
}

export interface GitRepo {
  dir: string;
  /** Full sha of each commit, in the order given. */
  shas: string[];
  destroy(): void;
}

/** A git repository whose commits carry the given dates in the past (author and committer). */
export async function gitRepo(commits: Commit[]): Promise<GitRepo> {
  const git = requireBinary('git');
  const dir = mkdtempSync(join(tmpdir(), 'gw-repo-'));
  const shas: string[] = [];
  await run(git, ['init', '-q', '-b', 'main', dir]);
  for (const c of commits) {
    for (const [path, content] of Object.entries(c.files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const date = `@${Math.floor((Date.now() - c.minutesAgo * 60_000) / 1000)} +0000`;
    const author = c.author ?? 'Ana Ops';
    const env = {
      ...process.env,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
      GIT_AUTHOR_NAME: author,
      GIT_AUTHOR_EMAIL: 'ops@example.test',
      GIT_COMMITTER_NAME: author,
      GIT_COMMITTER_EMAIL: 'ops@example.test',
    };
    await run(git, ['-C', dir, 'add', '-A'], { env });
    await run(git, ['-C', dir, 'commit', '-q', '-m', c.subject], { env });
    shas.push((await run(git, ['-C', dir, 'rev-parse', 'HEAD'])).stdout.trim());
  }
  return { dir, shas, destroy: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A directory of playbooks for `gatewatch check --playbooks`. */
export function playbookDir(): {
  dir: string;
  write(
    service: string,
    checks: Record<string, unknown>,
    timeouts?: { check_ms: number; total_ms: number },
  ): void;
  destroy(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'gw-scenario-pb-'));
  return {
    dir,
    write(service, checks, timeouts = { check_ms: 4000, total_ms: 8000 }) {
      writeFileSync(join(dir, `${service}.yaml`), stringify({ service, checks, timeouts }));
    },
    destroy: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `gatewatch check SERVICE --json`, a real process, as on-call runs it. */
export async function check(
  service: string,
  dir: string,
  env: Record<string, string> = {},
): Promise<Verdict> {
  const { stdout } = await run(
    process.execPath,
    ['bin/gatewatch.js', 'check', service, '--playbooks', dir, '--json'],
    { cwd: ROOT, timeout: 30_000, env: { ...process.env, LOG_LEVEL: 'silent', ...env } },
  );
  return JSON.parse(stdout) as Verdict;
}

export interface Row {
  scenario: string;
  expected: string;
  got: string;
  trigger_expected: string;
  trigger_got: string;
  confidence: number;
  /** The verdict's own duration_ms: how long the checks took to judge this world. */
  duration_ms: number;
  ok: boolean;
}

/** Confidence bands of the calibration table: a verdict's confidence should match how often such verdicts are right. */
const BANDS: readonly [number, number][] = [
  [0, 0.5],
  [0.5, 0.7],
  [0.7, 0.85],
  [0.85, 1.01],
];

/**
 * Every scenario file of one vitest run appends its verdicts here (the forked
 * workers share the run's process as parent), so each file can print the
 * calibration of all files judged so far: the last one printed covers the suite.
 */
const CALIBRATION_FILE =
  process.env.GATEWATCH_VERDICTS_FILE ?? join(tmpdir(), `gatewatch-calibration-${process.ppid}.jsonl`);

export function calibrationTable(rows: readonly Pick<Row, 'confidence' | 'ok'>[]): string {
  const lines = BANDS.map(([lo, hi]) => {
    const inBand = rows.filter((r) => r.confidence >= lo && r.confidence < hi);
    const right = inBand.filter((r) => r.ok).length;
    const share = inBand.length ? `${Math.round((right / inBand.length) * 100)}%` : '-';
    return `${`${lo.toFixed(2)}–${Math.min(hi, 1).toFixed(2)}`.padEnd(11)}  ${String(inBand.length).padStart(8)}  ${share.padStart(13)}`;
  });
  return ['confidence   verdicts  share correct', ...lines].join('\n');
}

/** Expected against got, per scenario; printed as a table when the file is done. */
export function accuracyTable(title: string) {
  const rows: Row[] = [];
  return {
    rows,
    /** Records the verdict and asserts cause, recommendation and trigger (null or its ref). */
    judge(
      scenario: string,
      v: Verdict,
      expected: {
        cause: Verdict['cause'];
        recommendation: Verdict['recommendation'];
        trigger: string | null;
      },
    ) {
      const ok =
        v.cause === expected.cause &&
        v.recommendation === expected.recommendation &&
        (v.trigger?.ref ?? null) === expected.trigger;
      rows.push({
        scenario,
        expected: `${expected.cause}/${expected.recommendation}`,
        got: `${v.cause}/${v.recommendation}`,
        trigger_expected: expected.trigger?.slice(0, 12) ?? '-',
        trigger_got: v.trigger?.ref.slice(0, 12) ?? '-',
        confidence: v.confidence,
        duration_ms: v.duration_ms,
        ok,
      });
      expect(
        { cause: v.cause, recommendation: v.recommendation, trigger: v.trigger?.ref ?? null },
        v.summary,
      ).toEqual(expected);
    },
    print() {
      const right = rows.filter((r) => r.ok).length;
      const head = ['scenario', 'expected', 'got', 'trigger expected', 'trigger got', 'conf', ''];
      const body = rows.map((r) => [
        r.scenario,
        r.expected,
        r.got,
        r.trigger_expected,
        r.trigger_got,
        r.confidence.toFixed(2),
        r.ok ? 'ok' : 'WRONG',
      ]);
      const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
      const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
      console.log(
        [`\n${title}: ${right}/${rows.length} verdicts right`, line(head), ...body.map(line)].join('\n'),
      );
      for (const r of rows) appendFileSync(CALIBRATION_FILE, `${JSON.stringify({ title, ...r })}\n`);
      const all = existsSync(CALIBRATION_FILE)
        ? readFileSync(CALIBRATION_FILE, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Row & { title: string })
        : [];
      const files = new Set(all.map((r) => r.title)).size;
      const confidentlyWrong = all.filter((r) => !r.ok && r.confidence > 0.7);
      console.log(
        `\ncalibration of the ${all.length} scenario verdicts judged so far in this run (${files} files):\n${calibrationTable(all)}\nwrong above 0.7: ${confidentlyWrong.length}`,
      );
      expect(confidentlyWrong.map((r) => `${r.scenario}: ${r.got} at ${r.confidence}`)).toEqual([]);
    },
  };
}

/** Keeps `concurrency` requests in flight against `url` until stopped: traffic for a saturated world. */
export function drive(url: string, concurrency: number): { stop(): Promise<void> } {
  let running = true;
  const lane = async () => {
    while (running) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const lanes = Array.from({ length: concurrency }, lane);
  return {
    stop: async () => {
      running = false;
      await Promise.all(lanes);
    },
  };
}

/**
 * The frame every scenario file shares: an accuracy table printed at the end, a playbook
 * directory, and `later(thing, stop)` to stop each world's processes after its test.
 */
export function scenarioSuite(title: string) {
  const table = accuracyTable(title);
  const pb = playbookDir();
  let cleanups: (() => unknown)[] = [];
  const later = <T>(thing: T, stop: (t: T) => unknown): T => {
    cleanups.push(() => stop(thing));
    return thing;
  };
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });
  afterAll(() => {
    table.print();
    pb.destroy();
  });
  return { table, pb, later };
}

/** nginx in front of one app port, with 1 s connect and read timeouts (504 past them). */
export function proxiedSite(appPort: number) {
  return nginxSite(proxyPass(appPort));
}

/** The proxy check of a private nginx: five samples of /healthz through it, and its error log. */
export function nginxSampling(nginx: { url: string; errorLog: string }) {
  return nginxProxyCheck(nginx);
}

/**
 * An app that uses every database `env` names on each request (app.mjs `db` mode: APP_DB_URL,
 * APP_MYSQL_URL, APP_REDIS_URL), nginx in front, and the proxy, upstream and load checks that see them.
 */
export async function databaseAppBehindNginx(
  later: <T>(thing: T, stop: (t: T) => unknown) => T,
  env: Record<string, string>,
) {
  const app = later(await startApp('db', '', { env }), (a) => a.stop());
  const nginx = later(await startNginx({ http: proxiedSite(app.port) }), (n) => n.stop());
  return {
    app,
    nginx,
    checks: {
      proxy: nginxSampling(nginx),
      upstream: upstreamCheck([app.url]),
      load: { scrape: [app.metricsUrl], sample_interval_ms: 500 },
    },
  };
}
