import { Socket } from 'node:net';
import { classifyNetworkError, type ProbeOutcome } from './net-errors.js';

export interface ConnectResult {
  outcome: ProbeOutcome;
  ms: number;
  error?: string;
}

/** Where a TCP (or unix-socket) connection goes. */
export type Endpoint = { host: string; port: number } | { path: string };

/**
 * One connection attempt, closed at once: does anything accept there? A unix
 * socket whose listen backlog is full answers EAGAIN at once (outcome `busy`).
 */
export function connectOnce(to: Endpoint, timeoutMs: number, signal: AbortSignal): Promise<ConnectResult> {
  const start = performance.now();
  return new Promise((done) => {
    const socket = new Socket();
    const finish = (probe: ConnectResult) => {
      socket.destroy();
      signal.removeEventListener('abort', onAbort);
      done(probe);
    };
    const onAbort = () => finish({ outcome: 'timeout', ms: performance.now() - start, error: 'aborted' });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(timeoutMs, () =>
      finish({
        outcome: 'timeout',
        ms: performance.now() - start,
        error: `no connection in ${timeoutMs} ms`,
      }),
    );
    socket.once('connect', () => finish({ outcome: 'ok', ms: performance.now() - start }));
    socket.once('error', (err) =>
      finish({ outcome: classifyNetworkError(err), ms: performance.now() - start, error: err.message }),
    );
    if ('path' in to) socket.connect(to.path);
    else socket.connect(to.port, to.host);
  });
}
