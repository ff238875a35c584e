import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

/** Does something accept TCP connections on 127.0.0.1:port right now? */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Stops a server process the test started: its graceful signal, then SIGKILL after 3 s. */
export async function stopDaemon(proc: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM') {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill(signal);
    setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
  });
}
