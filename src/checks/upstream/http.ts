import { type Agent, request } from 'undici';
import { classifyNetworkError, outcomeForStatus, type ProbeOutcome } from '../net-errors.js';

export interface Probe {
  outcome: ProbeOutcome;
  ms: number;
  httpStatus?: number;
  /** The idle keep-alive timeout the server advertises (`Keep-Alive: timeout=N`), in seconds. */
  keepAliveS?: number | null;
  /** Size of the response headers as sent (name: value CRLF each), in bytes. */
  headerBytes?: number;
  error?: string;
}

/** `Keep-Alive: timeout=5, max=100` → 5; null when absent or unreadable. */
export function keepAliveSeconds(header: string | string[] | undefined): number | null {
  const value = Array.isArray(header) ? header.join(',') : header;
  const m = value ? /(?:^|[,\s])timeout=(\d+)/i.exec(value) : null;
  return m ? Number(m[1]) : null;
}

function headerBytes(headers: Record<string, string | string[] | undefined>): number {
  let n = 0;
  for (const [name, value] of Object.entries(headers))
    for (const v of Array.isArray(value) ? value : [value ?? '']) n += name.length + 2 + v.length + 2;
  return n;
}

/** One HTTP GET; the outcome is the status class, or what the network error was. */
export async function httpProbe(
  url: string,
  dispatcher: Agent,
  timeoutMs: number,
  signal: AbortSignal,
  expect: readonly number[] | undefined,
): Promise<Probe> {
  const start = performance.now();
  try {
    const res = await request(url, {
      method: 'GET',
      dispatcher,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: { 'user-agent': 'gatewatch/upstream-check' },
    });
    await res.body.dump({ limit: 64 * 1024 });
    const ms = performance.now() - start;
    const outcome = expect
      ? expect.includes(res.statusCode)
        ? 'ok'
        : res.statusCode >= 500
          ? 'http_5xx'
          : 'http_4xx'
      : outcomeForStatus(res.statusCode);
    return {
      outcome,
      ms,
      httpStatus: res.statusCode,
      keepAliveS: keepAliveSeconds(res.headers['keep-alive']),
      headerBytes: headerBytes(res.headers),
    };
  } catch (err) {
    return {
      outcome: classifyNetworkError(err),
      ms: performance.now() - start,
      error: (err as Error).message,
    };
  }
}
