import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { type FakeHttp, fakeHttp, type SeenRequest, tailer } from './fake-http.js';

const FIXTURES = new URL('../fixtures/elasticsearch/', import.meta.url);

/**
 * Elasticsearch cannot run here: this fake speaks `POST /<index-pattern>/_search`
 * as documented (test/fixtures/elasticsearch/NOTES.md): index patterns with `*`
 * and comma lists, `bool` with `filter`/`must`/`should`, `range` (gte/gt/lt/lte on
 * dates), `term`, `match`, `match_phrase`, a `query_string` of `field:value` /
 * `"phrase"` terms joined by AND/OR, `sort` on a date, `size` (+ `from` ≤ 10,000),
 * `_source` filtering, `track_total_hits`; errors as ES writes them (400
 * `parsing_exception`, 401 `security_exception` with the real body). Auth: ApiKey,
 * Basic or Bearer. It is fed by `shipNginxErrors`, which tails a real nginx
 * error log and stores each line as the Elastic nginx integration does: time,
 * level, pid and connection id parsed out, the rest in `message`.
 */
export interface FakeElasticsearch extends FakeHttp {
  index(index: string, source: Record<string, unknown>): void;
  /** Indexes what the nginx error log gained since the last call; returns how many lines. */
  shipNginxErrors(path: string, index: string, host?: string): number;
}

interface Doc {
  index: string;
  id: string;
  source: Record<string, unknown>;
}

class BadRequest extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function get(source: Record<string, unknown>, path: string): unknown {
  if (path in source) return source[path];
  let v: unknown = source;
  for (const part of path.split('.')) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function set(target: Record<string, unknown>, path: string, value: unknown) {
  const parts = path.split('.');
  let o = target;
  for (const p of parts.slice(0, -1)) {
    o[p] = (o[p] as Record<string, unknown>) ?? {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]!] = value;
}

function asTime(v: unknown): number {
  return typeof v === 'number' ? v : Date.parse(String(v));
}

function words(v: unknown): string[] {
  return String(v ?? '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

function containsPhrase(v: unknown, phrase: string): boolean {
  const hay = words(v).join(' ');
  const needle = words(phrase).join(' ');
  return needle !== '' && ` ${hay} `.includes(` ${needle} `);
}

function queryString(doc: Record<string, unknown>, q: string): boolean {
  return q.split(/\s+OR\s+/).some((any) =>
    any.split(/\s+AND\s+/).every((term) => {
      const m = /^(?:([\w.@-]+):)?("([^"]*)"|\S+)$/.exec(term.trim());
      if (!m) throw new BadRequest('query_shard_exception', `Failed to parse query [${q}]`);
      const value = m[3] ?? m[2]!;
      if (!m[1]) return containsPhrase(get(doc, 'message'), value);
      const field = get(doc, m[1]);
      return String(field) === value || containsPhrase(field, value);
    }),
  );
}

function one(obj: unknown, what: string): [string, Record<string, unknown>] {
  const entries = Object.entries((obj ?? {}) as Record<string, unknown>);
  if (entries.length !== 1)
    throw new BadRequest('parsing_exception', `[${what}] malformed query, expected [END_OBJECT]`);
  return entries[0] as [string, Record<string, unknown>];
}

function matchQuery(doc: Record<string, unknown>, query: unknown): boolean {
  const [type, body] = one(query, 'query');
  switch (type) {
    case 'match_all':
      return true;
    case 'bool': {
      const list = (k: string) => {
        const v = body[k];
        return v === undefined ? [] : Array.isArray(v) ? v : [v];
      };
      const should = list('should');
      const min = Number(body.minimum_should_match ?? (list('filter').length + list('must').length ? 0 : 1));
      return (
        [...list('filter'), ...list('must')].every((q) => matchQuery(doc, q)) &&
        !list('must_not').some((q) => matchQuery(doc, q)) &&
        (should.length === 0 ||
          should.filter((q) => matchQuery(doc, q)).length >= Math.min(min, should.length))
      );
    }
    case 'range': {
      const [field, r] = one(body, 'range');
      const t = asTime(get(doc, field));
      const bound = (k: string) => (r[k] === undefined ? undefined : asTime(r[k]));
      const [gte, gt, lt, lte] = [bound('gte'), bound('gt'), bound('lt'), bound('lte')];
      return (
        (gte === undefined || t >= gte) &&
        (gt === undefined || t > gt) &&
        (lt === undefined || t < lt) &&
        (lte === undefined || t <= lte)
      );
    }
    case 'term': {
      const [field, v] = one(body, 'term');
      const want = typeof v === 'object' && v !== null ? (v as { value: unknown }).value : v;
      return get(doc, field) === want;
    }
    case 'match':
    case 'match_phrase': {
      const [field, v] = one(body, type);
      const want = typeof v === 'object' && v !== null ? (v as { query: unknown }).query : v;
      return type === 'match'
        ? words(want).some((w) => words(get(doc, field)).includes(w))
        : containsPhrase(get(doc, field), String(want));
    }
    case 'query_string':
      return queryString(doc, String(body.query ?? ''));
    default:
      throw new BadRequest('parsing_exception', `no [query] registered for [${type}]`);
  }
}

function pattern(indexes: string): RegExp {
  const alts = indexes.split(',').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*'));
  return new RegExp(`^(?:${alts.join('|')})$`);
}

function project(source: Record<string, unknown>, fields: unknown): Record<string, unknown> {
  if (!Array.isArray(fields)) return source;
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = get(source, String(f));
    if (v !== undefined) set(out, String(f), v);
  }
  return out;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-elastic-product': 'Elasticsearch',
    ...headers,
  });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function error(type: string, reason: string, status = 400) {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

// `2024/11/03 06:09:45 [error] 363993#0: *6641416 message`, as the integration's ingest pipeline splits it.
const NGINX_HEAD =
  /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(\w+)\] (\d+)#(\d+): (?:\*(\d+) )?(.*)$/;

export async function startFakeElasticsearch(
  opts: { apiKey?: string; basic?: { user: string; password: string }; token?: string } = {},
): Promise<FakeElasticsearch> {
  const docs: Doc[] = [];
  const tails = new Map<string, () => string[]>();
  const unauthorised = readFileSync(new URL('error-401-security_exception.json', FIXTURES), 'utf8');

  const authorised = (req: SeenRequest) => {
    const auth = req.headers.authorization ?? '';
    if (opts.apiKey) return auth === `ApiKey ${opts.apiKey}`;
    if (opts.token) return auth === `Bearer ${opts.token}`;
    if (opts.basic)
      return auth === `Basic ${Buffer.from(`${opts.basic.user}:${opts.basic.password}`).toString('base64')}`;
    return true;
  };

  const fake = await fakeHttp((req, res) => {
    if (!authorised(req))
      return json(res, 401, unauthorised, {
        'www-authenticate': 'Basic realm="security" charset="UTF-8", Bearer realm="security", ApiKey',
      });
    const m = /^\/([^/]+)\/_search$/.exec(req.path);
    if (!m || (req.method !== 'POST' && req.method !== 'GET'))
      return json(
        res,
        405,
        error('illegal_argument_exception', `Incorrect HTTP method for uri [${req.path}]`, 405),
      );
    let body: Record<string, unknown>;
    try {
      body = req.body.trim() ? (JSON.parse(req.body) as Record<string, unknown>) : {};
    } catch {
      return json(res, 400, error('parsing_exception', 'Unknown key for a VALUE_STRING in [query].'));
    }
    const size = Number(body.size ?? 10);
    const from = Number(body.from ?? 0);
    if (from + size > 10_000)
      return json(
        res,
        400,
        error(
          'illegal_argument_exception',
          `Result window is too large, from + size must be less than or equal to: [10000] but was [${from + size}].`,
        ),
      );
    const wanted = pattern(m[1]!);
    const sort = Array.isArray(body.sort) ? body.sort[0] : undefined;
    const [sortField, sortSpec] = sort ? one(sort, 'sort') : ['_doc', {}];
    const desc =
      (typeof sortSpec === 'string' ? sortSpec : (sortSpec as { order?: string }).order) === 'desc';
    let hits: Doc[];
    try {
      hits = docs.filter((d) => wanted.test(d.index) && (!body.query || matchQuery(d.source, body.query)));
    } catch (err) {
      if (err instanceof BadRequest) return json(res, 400, error(err.type, err.message));
      throw err;
    }
    if (sortField !== '_doc')
      hits.sort(
        (a, b) => (asTime(get(a.source, sortField)) - asTime(get(b.source, sortField))) * (desc ? -1 : 1),
      );
    const page = hits.slice(from, from + size);
    json(res, 200, {
      took: 1,
      timed_out: false,
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
      hits: {
        ...(body.track_total_hits === false ? {} : { total: { value: hits.length, relation: 'eq' } }),
        max_score: null,
        hits: page.map((d) => ({
          _index: d.index,
          _id: d.id,
          _score: null,
          _source: project(d.source, body._source),
          ...(sortField !== '_doc' ? { sort: [asTime(get(d.source, sortField))] } : {}),
        })),
      },
    });
  });

  const index: FakeElasticsearch['index'] = (name, source) => {
    docs.push({ index: name, id: `doc-${docs.length + 1}`, source });
  };

  return {
    ...fake,
    index,
    shipNginxErrors(path, indexName, host = 'edge-01') {
      const next = tails.get(path) ?? tailer(() => readFileSync(path, 'utf8'));
      tails.set(path, next);
      const lines = next();
      for (const line of lines) {
        const h = NGINX_HEAD.exec(line);
        // The pipeline reads the line's local time with the host's zone (event.timezone).
        const at = h ? new Date(+h[1]!, +h[2]! - 1, +h[3]!, +h[4]!, +h[5]!, +h[6]!) : new Date();
        index(indexName, {
          '@timestamp': at.toISOString(),
          data_stream: { dataset: 'nginx.error', namespace: 'default', type: 'logs' },
          event: { dataset: 'nginx.error', kind: 'event', category: ['web'], type: ['error'] },
          host: { name: host },
          log: { level: h?.[7] ?? 'error', file: { path } },
          process: h ? { pid: Number(h[8]), thread: { id: Number(h[9]) } } : undefined,
          nginx: h?.[10] ? { error: { connection_id: Number(h[10]) } } : undefined,
          message: h ? h[11] : line,
        });
      }
      return lines.length;
    },
  };
}
