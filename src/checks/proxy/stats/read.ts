import { excerpt, remoteError, remoteRequest, shownUrl } from '../remote.js';
import type { StatsRequest } from './types.js';

/** GETs one stats page of the proxy, bounded; anything but 2xx is an error carrying the proxy's reason. */
export async function getStatsPage(req: StatsRequest, url: string, accept = '*/*') {
  const answer = await remoteRequest({
    url,
    headers: { accept, ...req.headers },
    timeoutMs: req.timeoutMs,
    maxBytes: req.config.max_bytes,
    signal: req.signal,
  });
  if (answer.status < 200 || answer.status > 299)
    throw remoteError(
      `${req.config.kind} stats ${shownUrl(url)}`,
      answer,
      excerpt(answer.text) || 'no reason given',
    );
  return answer;
}

/** A path on the same origin as the configured URL (admin APIs: Caddy, Envoy). */
export function onOrigin(url: string, path: string): string {
  return new URL(path, new URL(url).origin).toString();
}

/** A number from a stats field; empty or non-numeric is absent, not zero. */
export function num(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Only the fields that have a value. */
export function defined(fields: Record<string, number | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}
