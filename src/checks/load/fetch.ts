import { request } from 'undici';
import { MiB, readBounded } from '../../bounded-body.js';
import { GatewatchError } from '../../errors.js';

/** A text body and when it arrived (performance.now() ms), for rates between two reads. */
export interface Snapshot {
  text: string;
  at: number;
  /** The body went on past the cap; `text` holds its whole lines up to there. */
  truncated: boolean;
}

/** The most read of one endpoint: node_exporter on a large host is well under 1 MiB. */
export const BODY_LIMITS = { scrape: 4 * MiB, stub_status: 64 * 1024 } as const;

/** GETs a small text endpoint (metrics, stub_status), at most `maxBytes` of it; anything but 2xx is an error. */
export async function fetchText(
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
  opts: { maxBytes: number; authorization?: string },
): Promise<Snapshot> {
  const res = await request(url, {
    method: 'GET',
    signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // The plain text format: no protobuf, no negotiation surprises.
    headers: {
      accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1',
      'user-agent': 'gatewatch/load-check',
      ...(opts.authorization ? { authorization: opts.authorization } : {}),
    },
  });
  const body = await readBounded(res.body, opts.maxBytes);
  const at = performance.now();
  if (res.statusCode < 200 || res.statusCode > 299)
    throw new GatewatchError('CHECK_FAILED', `${url} answered HTTP ${res.statusCode}`, { retryable: true });
  // A line cut in two would parse as a different sample: keep whole lines only.
  const text = body.truncated ? body.text.slice(0, body.text.lastIndexOf('\n') + 1) : body.text;
  return { text, at, truncated: body.truncated };
}

/** host:port of a URL: the instance name an endpoint is reported under. */
export function instanceOf(url: string): string {
  const u = new URL(url);
  return u.port ? u.host : `${u.host}:${u.protocol === 'https:' ? 443 : 80}`;
}
