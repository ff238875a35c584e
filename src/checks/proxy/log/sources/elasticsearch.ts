import { z } from 'zod';
import { GatewatchError } from '../../../../errors.js';
import { authHeaders, excerpt, jsonAnswer, remoteRequest, shownUrl } from '../../remote.js';
import type { LogRead, LogReadRequest, StoredLine } from './types.js';

const SearchAnswer = z.object({
  timed_out: z.boolean().optional(),
  _shards: z.object({ failed: z.number().optional(), total: z.number().optional() }).partial().optional(),
  hits: z.object({
    hits: z.array(
      z.object({
        _source: z.record(z.string(), z.unknown()).optional(),
        sort: z.array(z.unknown()).optional(),
      }),
    ),
  }),
});

const ErrorAnswer = z.object({
  error: z.union([
    z.string(),
    z.object({ type: z.string().optional(), reason: z.string().optional() }).loose(),
  ]),
});

/** A field by its dotted name: nested (`log.level` → {log:{level}}) as ECS stores it, or flat. */
function field(source: Record<string, unknown>, name: string): unknown {
  if (name in source) return source[name];
  let v: unknown = source;
  for (const part of name.split('.')) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const NGINX_HEAD = /\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} \[\w+\] /;

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * The Elastic nginx integration stores time, level, pid and connection apart and
 * keeps only the rest in `message`. The parsers read nginx's own line, so the head
 * is put back (the time is the store's, which wins anyway).
 */
function withNginxHead(line: string, at: number | null, level: unknown): string {
  if (NGINX_HEAD.test(line) || at === null) return line;
  const d = new Date(at);
  const stamp = `${d.getFullYear()}/${two(d.getMonth() + 1)}/${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return `${stamp} [${typeof level === 'string' && /^\w+$/.test(level) ? level : 'error'}] 0#0: ${line}`;
}

function reasonOf(text: string): string {
  try {
    const e = ErrorAnswer.parse(JSON.parse(text)).error;
    if (typeof e === 'string') return e;
    return [e.type, e.reason].filter(Boolean).join(': ') || excerpt(text);
  } catch {
    // OpenSearch's security plugin answers 401 in plain text.
    return excerpt(text) || 'no reason given';
  }
}

/**
 * Elasticsearch/OpenSearch `_search` over the index pattern: the playbook's
 * query_string ANDed with the incident window on the time field, newest first, at
 * most `limit` hits. Times come from the stored time field.
 */
export async function readElasticsearchSource(req: LogReadRequest): Promise<LogRead> {
  const es = req.config.elasticsearch;
  if (!es)
    throw new GatewatchError('CONFIG_INVALID', 'error_log.elasticsearch is missing', { retryable: false });
  const base = es.url.endsWith('/') ? es.url : `${es.url}/`;
  const url = new URL(`${es.index}/_search`, base);
  url.searchParams.set('ignore_unavailable', 'true');
  const window = {
    range: {
      [es.time_field]: {
        gte: new Date(req.since).toISOString(),
        lt: new Date(req.until).toISOString(),
        format: 'strict_date_optional_time',
      },
    },
  };
  const body = {
    size: es.limit,
    track_total_hits: false,
    sort: [{ [es.time_field]: { order: 'desc' } }],
    _source: [es.time_field, es.message_field, 'event.original', 'log.level'],
    query: {
      bool: { filter: [window, ...(es.query ? [{ query_string: { query: es.query } }] : [])] },
    },
  };
  const where = `Elasticsearch ${shownUrl(url.toString())}`;
  const answer = await remoteRequest({
    url: url.toString(),
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders(es, req.env) },
    body: JSON.stringify(body),
    timeoutMs: req.timeoutMs,
    maxBytes: req.config.max_bytes,
    signal: req.signal,
  });
  const parsed = jsonAnswer(answer, {
    where,
    schema: SearchAnswer,
    what: 'a search result',
    reason: reasonOf,
    narrow: 'narrow the query or lower elasticsearch.limit',
  });
  const nginxLike = req.config.format === 'nginx' || req.config.format === 'ingress-nginx';
  const lines: StoredLine[] = [];
  for (const hit of parsed.hits.hits) {
    const source = hit._source ?? {};
    const stamp = field(source, es.time_field);
    const fromSort = typeof hit.sort?.[0] === 'number' ? hit.sort[0] : null;
    const parsedStamp =
      typeof stamp === 'string' || typeof stamp === 'number' ? Date.parse(String(stamp)) : NaN;
    const at = Number.isNaN(parsedStamp) ? fromSort : parsedStamp;
    const original = field(source, 'event.original');
    const message = typeof original === 'string' ? original : field(source, es.message_field);
    if (typeof message !== 'string') continue;
    lines.push({
      text: nginxLike ? withNginxHead(message, at, field(source, 'log.level')) : message,
      at,
    });
  }
  const failed = parsed._shards?.failed ?? 0;
  return {
    location: `elasticsearch ${shownUrl(base)}${es.index}${es.query ? ` ${es.query}` : ''}`,
    lines,
    bytes_read: answer.bytes,
    size: null,
    truncated:
      parsed.hits.hits.length >= es.limit
        ? `the search returned its size limit (${es.limit}): older lines in the window were not read`
        : null,
    partial:
      failed > 0
        ? `${failed} of ${parsed._shards?.total ?? '?'} shards failed`
        : parsed.timed_out
          ? 'the search timed out on the cluster'
          : null,
  };
}
