import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePort, waitFor } from './ports.js';

export interface RunningProcess {
  port: number;
  url: string;
  stop(): Promise<void>;
}

function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Spawns a server on a free port, retrying once if another process took the port first. */
async function launch(
  bin: string,
  args: (port: number) => string[],
  readyPath: string,
  what: string,
): Promise<{ proc: ChildProcess; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    let stderr = '';
    const proc = spawn(bin, args(port), { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (d) => {
      stderr = (stderr + String(d)).slice(-4000);
    });
    const url = `http://127.0.0.1:${port}${readyPath}`;
    try {
      await waitFor(async () => proc.exitCode !== null || (await answers(url)), 20_000, `${what} on ${port}`);
    } catch (err) {
      await kill(proc);
      throw new Error(`${String(err)}; stderr: ${stderr}`);
    }
    if (proc.exitCode === null) return { proc, port };
    if (attempt > 0) throw new Error(`${what} did not start: ${stderr}`);
  }
}

/** Debian's prometheus-node-exporter on a free port, with only the cpu, meminfo and loadavg collectors. */
export async function startNodeExporter(): Promise<RunningProcess> {
  const bin = requireBinary('prometheus-node-exporter');
  const { proc, port } = await launch(
    bin,
    (port) => [
      `--web.listen-address=127.0.0.1:${port}`,
      '--collector.disable-defaults',
      '--collector.cpu',
      '--collector.meminfo',
      '--collector.loadavg',
    ],
    '/metrics',
    'prometheus-node-exporter',
  );
  return { port, url: `http://127.0.0.1:${port}`, stop: () => kill(proc) };
}

/** A private Prometheus (temp storage, free port) scraping the given targets every second as job "node". */
export async function startPrometheus(targets: readonly string[]): Promise<RunningProcess> {
  const bin = requireBinary('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'gw-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: node
    static_configs: [{targets: ${JSON.stringify(targets)}}]
`,
  );
  try {
    const { proc, port } = await launch(
      bin,
      (port) => [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      '/-/ready',
      'prometheus',
    );
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      async stop() {
        await kill(proc);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
