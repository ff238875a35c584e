import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface MetricsApp {
  pid: number;
  /** http://127.0.0.1:PORT/metrics */
  metricsUrl: string;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./metrics-app.mjs', import.meta.url));

/**
 * A separate Node process exposing process_cpu_seconds_total, RSS and event-loop lag; `busy` keeps
 * one core at 100% in a worker thread (its loop free), `loop` its main thread (its loop lagging).
 */
export async function startMetricsApp(mode: 'busy' | 'loop' | 'idle'): Promise<MetricsApp> {
  const proc = spawn(process.execPath, [SCRIPT, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  const lines = createInterface({ input: proc.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('metrics app did not start in 10 s')), 10_000);
    proc.once('exit', (code) => reject(new Error(`metrics app exited with ${code}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  }).catch(async (err) => {
    await stop();
    throw err;
  });
  lines.close();
  return { pid: proc.pid!, metricsUrl: `http://127.0.0.1:${port}/metrics`, stop };
}
