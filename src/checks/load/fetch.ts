import { request } from 'undici';
import { GatewatchError } from '../../errors.js';

/** A text body and when it arrived (performance.now() ms), for rates between two reads. */
export interface Snapshot {
  text: string;
  at: number;
}

/** GETs a small text endpoint (metrics, stub_status); anything but 2xx is an error. */
export async function fetchText(url: string, timeoutMs: number, signal: AbortSignal): Promise<Snapshot> {
  const res = await request(url, {
    method: 'GET',
    signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // The plain text format: no protobuf, no negotiation surprises.
    headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1', 'user-agent': 'gatewatch/load-check' },
  });
  const text = await res.body.text();
  const at = performance.now();
  if (res.statusCode < 200 || res.statusCode > 299)
    throw new GatewatchError('CHECK_FAILED', `${url} answered HTTP ${res.statusCode}`, { retryable: true });
  return { text, at };
}

/** host:port of a URL: the instance name an endpoint is reported under. */
export function instanceOf(url: string): string {
  const u = new URL(url);
  return u.port ? u.host : `${u.host}:${u.protocol === 'https:' ? 443 : 80}`;
}
