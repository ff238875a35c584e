import { z } from 'zod';
import { GatewatchError } from '../../../../errors.js';
import { authHeaders, excerpt, jsonAnswer, remoteRequest, secret, shownUrl } from '../../remote.js';
import type { LogRead, LogReadRequest, StoredLine } from './types.js';

// `values` entries are [ns-epoch string, line] or, with categorize-labels, [ns, line, {metadata}].
const LokiAnswer = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.string(),
    result: z.array(
      z.object({
        stream: z.record(z.string(), z.string()).optional(),
        values: z.array(z.tuple([z.string(), z.string()]).rest(z.unknown())).optional(),
      }),
    ),
  }),
});

/** Nanoseconds as Loki writes them (a string past 2^53) to epoch ms, without losing precision. */
function nsToMs(ns: string): number | null {
  if (!/^\d{7,}$/.test(ns)) return null;
  return Number(ns.slice(0, -6));
}

function msToNs(ms: number): string {
  return `${BigInt(Math.floor(ms)) * 1_000_000n}`;
}

/**
 * Loki `query_range` with the playbook's LogQL, over the incident window only, newest
 * first, at most `limit` entries. Times come from Loki's entry timestamps.
 */
export async function readLokiSource(req: LogReadRequest): Promise<LogRead> {
  const loki = req.config.loki;
  if (!loki) throw new GatewatchError('CONFIG_INVALID', 'error_log.loki is missing', { retryable: false });
  const headers = authHeaders(loki, req.env);
  const tenant = loki.tenant_env ? secret(req.env, loki.tenant_env) : loki.tenant;
  if (tenant) headers['x-scope-orgid'] = tenant;
  const url = new URL('loki/api/v1/query_range', loki.url.endsWith('/') ? loki.url : `${loki.url}/`);
  url.searchParams.set('query', loki.query);
  url.searchParams.set('start', msToNs(req.since));
  url.searchParams.set('end', msToNs(req.until));
  url.searchParams.set('limit', String(loki.limit));
  url.searchParams.set('direction', 'backward');
  const where = `Loki ${shownUrl(url.toString())}`;
  const answer = await remoteRequest({
    url: url.toString(),
    headers,
    timeoutMs: req.timeoutMs,
    maxBytes: req.config.max_bytes,
    signal: req.signal,
  });
  const parsed = jsonAnswer(answer, {
    where,
    schema: LokiAnswer,
    what: 'a Loki query result',
    // Loki's errors are plain text: the body is the reason.
    reason: (body) => excerpt(body) || 'no reason given',
    narrow: 'narrow the query or lower loki.limit',
  });
  if (parsed.data.resultType !== 'streams')
    throw new GatewatchError(
      'CHECK_FAILED',
      `loki.query is a metric query (result ${parsed.data.resultType}): give a log query such as {job="nginx"} |= "upstream"`,
      { retryable: false },
    );
  // Streams are not ordered among themselves; the summary does not need an order.
  const lines: StoredLine[] = parsed.data.result.flatMap((s) =>
    (s.values ?? []).map(([ns, text]) => ({ text, at: nsToMs(ns) })),
  );
  return {
    location: `loki ${shownUrl(loki.url)} ${loki.query}`,
    lines,
    bytes_read: answer.bytes,
    size: null,
    truncated:
      lines.length >= loki.limit
        ? `Loki returned the line limit (${loki.limit}): older lines in the window were not read`
        : null,
    partial: null,
  };
}
