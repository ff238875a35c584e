import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FakeSlack } from './fake-slack.js';
import { freePort, waitFor } from './ports.js';
import { type PrivateRedis, startRedis } from './redis.js';
import { postPagerDuty, pagerdutyTriggered as triggered } from './signed.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const PD_SECRET = 'fault-test-pagerduty-secret';
export const PD_SERVICE = 'PFAULT1';

/** A real PagerDuty v3 `incident.triggered` body for our service, with its own incident and event ids. */
export function pagerdutyTriggered(incidentId: string): string {
  return triggered(incidentId, PD_SERVICE, 'fault-api 502 Bad Gateway');
}

/** POSTs a PagerDuty delivery signed with this world's secret; the answer's status and JSON body. */
export async function sendPagerDuty(baseUrl: string, body: string, timeoutMs = 10_000) {
  const res = await postPagerDuty(baseUrl, body, PD_SECRET, { timeoutMs });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

/** A temp playbooks dir with one service whose upstream check probes `targets`. */
export function playbooksDir(targets: string[], probeTimeoutMs: number): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gw-faults-pb-'));
  writeFileSync(
    join(dir, 'fault-api.yaml'),
    stringify({
      service: 'fault-api',
      match: { pagerduty_services: [PD_SERVICE] },
      slack: { channel: '#faults' },
      checks: { upstream: { targets, probes: 1, timeout_ms: probeTimeoutMs } },
      timeouts: { check_ms: probeTimeoutMs + 5000, total_ms: probeTimeoutMs + 10_000 },
    }),
  );
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface GatewatchProcess {
  proc: ChildProcess;
  port: number;
  baseUrl: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | NodeJS.Signals | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** `node bin/gatewatch.js COMMAND` as a real child process, as an operator would run it. */
export async function spawnGatewatch(
  command: 'start' | 'serve' | 'worker',
  env: Record<string, string>,
): Promise<GatewatchProcess> {
  const port = await freePort();
  let out = '';
  const proc = spawn(process.execPath, [join(ROOT, 'bin/gatewatch.js'), command], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      PAGERDUTY_WEBHOOK_SECRETS: PD_SECRET,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    proc.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const gw: GatewatchProcess = {
    proc,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => out,
    exited,
    kill: (signal = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
  const ready =
    command === 'worker' ? /"msg":"worker ready"|worker metrics listening/ : /gatewatch listening/;
  if (command !== 'worker') {
    await waitFor(() => ready.test(out) || proc.exitCode !== null, 30_000, `gatewatch ${command} to listen`);
    if (proc.exitCode !== null) throw new Error(`gatewatch ${command} exited early:\n${out}`);
  }
  return gw;
}

/** Redis keys and queue names of one test, so parallel tests never share state. */
export function uniqueNames() {
  const tag = randomBytes(4).toString('hex');
  return { prefix: `{gwfault-${tag}}`, queue: 'gatewatch', incident: `PINC${tag.toUpperCase()}` };
}

/**
 * The world of a fault test: a private Redis, a fake Slack when asked, and the gatewatch
 * processes it spawns, all stopped by `stop()` (processes SIGKILLed first, then what
 * `later` was given, latest first, then Slack and Redis).
 */
export interface FaultWorld {
  redis: PrivateRedis;
  /** The fake Slack; only when started with `slack: true`. */
  slack: FakeSlack;
  /** The environment of a gatewatch process on this world: its Redis, the test's prefix, the playbooks, the fake Slack. */
  env(names: { prefix: string }, pb: { dir: string }, extra?: Record<string, string>): Record<string, string>;
  /** `playbooksDir`, removed when the world stops. */
  playbooks(targets: string[], probeTimeoutMs: number): { dir: string; remove(): void };
  /** `spawnGatewatch`, killed when the world stops. */
  spawn(command: 'start' | 'serve' | 'worker', env: Record<string, string>): Promise<GatewatchProcess>;
  later(cleanup: () => unknown): void;
  stop(): Promise<void>;
}

export async function startFaultWorld(
  opts: { redis?: Parameters<typeof startRedis>[0]; slack?: boolean } = {},
): Promise<FaultWorld> {
  const redis = await startRedis(opts.redis);
  const slack = opts.slack ? await new FakeSlack().start() : undefined;
  const procs: GatewatchProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  return {
    redis,
    get slack() {
      if (!slack) throw new Error('this fault world was started without a fake Slack');
      return slack;
    },
    env: (names, pb, extra = {}) => ({
      REDIS_URL: redis.url,
      REDIS_PREFIX: names.prefix,
      PLAYBOOKS_DIR: pb.dir,
      ...(slack ? { SLACK_BOT_TOKEN: 'xoxb-fault-test', SLACK_API_URL: slack.url } : {}),
      ...extra,
    }),
    playbooks(targets, probeTimeoutMs) {
      const pb = playbooksDir(targets, probeTimeoutMs);
      cleanups.push(() => pb.remove());
      return pb;
    },
    async spawn(command, env) {
      const p = await spawnGatewatch(command, env);
      procs.push(p);
      return p;
    },
    later: (cleanup) => void cleanups.push(cleanup),
    async stop() {
      for (const p of procs) p.kill('SIGKILL');
      await Promise.all(procs.map((p) => p.exited));
      for (const c of cleanups.reverse()) await c();
      await slack?.stop();
      await redis.destroy();
    },
  };
}
