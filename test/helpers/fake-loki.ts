import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { type FakeHttp, fakeHttp, type SeenRequest, tailer } from './fake-http.js';

/**
 * Loki cannot run here: this fake speaks its `GET /loki/api/v1/query_range` as
 * documented (see test/fixtures/loki/NOTES.md): LogQL stream selectors with
 * `=`, `!=`, `=~`, `!~` and line filters `|=`, `!=`, `|~`, `!~`; `start`/`end` in
 * ns (end exclusive), `limit` (default 100, over 5000 is a 400), `direction`
 * (backward by default); answers `streams` with ns timestamps as strings; errors
 * as plain text; multi-tenancy by `X-Scope-OrgID` (400 `no org id`); auth as the
 * gateway in front of Loki does it (Bearer or Basic, 401). It is fed by `ship`,
 * which tails a real proxy's log the way Promtail does: each line stamped with
 * the time it was shipped.
 */
export interface FakeLoki extends FakeHttp {
  push(labels: Record<string, string>, lines: string[], atMs?: number, tenant?: string): void;
  /** Pushes what the file gained since the last call; returns how many lines. */
  ship(path: string, labels: Record<string, string>): number;
}

interface Entry {
  tenant: string;
  labels: Record<string, string>;
  ns: bigint;
  line: string;
}

type Matcher = { name: string; op: '=' | '!=' | '=~' | '!~'; value: string };
type LineFilter = { op: '|=' | '!=' | '|~' | '!~'; value: string };

class ParseError extends Error {}

function unquote(s: string): string {
  return JSON.parse(s.startsWith('`') ? JSON.stringify(s.slice(1, -1)) : s) as string;
}

/** A log query: `{a="x", b=~"y.*"} |= "upstream" != "info"`. Metric queries are not served by this fake. */
export function parseLogQl(query: string): { matchers: Matcher[]; filters: LineFilter[] } {
  const q = query.trim();
  if (!q.startsWith('{'))
    throw new ParseError(`parse error at line 1, col 1: syntax error: unexpected IDENTIFIER, expecting {`);
  const close = q.indexOf('}');
  if (close < 0)
    throw new ParseError(`parse error at line 1, col ${q.length + 1}: syntax error: unexpected $end`);
  const matchers: Matcher[] = [];
  const body = q.slice(1, close);
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|`[^`]*`)\s*(,|$)/y;
  let at = 0;
  while (at < body.length) {
    re.lastIndex = at;
    const m = re.exec(body);
    if (!m)
      throw new ParseError(
        `parse error at line 1, col ${at + 2}: syntax error: unexpected IDENTIFIER, expecting = or =~ or !~ or !=`,
      );
    matchers.push({ name: m[1]!, op: m[2] as Matcher['op'], value: unquote(m[3]!) });
    at = re.lastIndex;
  }
  const filters: LineFilter[] = [];
  const rest = q.slice(close + 1);
  const fre = /\s*(\|=|!=|\|~|!~)\s*("(?:[^"\\]|\\.)*"|`[^`]*`)/y;
  let pos = 0;
  while (pos < rest.length && rest.slice(pos).trim() !== '') {
    fre.lastIndex = pos;
    const m = fre.exec(rest);
    if (!m)
      throw new ParseError(
        `parse error at line 1, col ${close + pos + 2}: syntax error: unexpected IDENTIFIER`,
      );
    filters.push({ op: m[1] as LineFilter['op'], value: unquote(m[2]!) });
    pos = fre.lastIndex;
  }
  const nonEmpty = matchers.some(
    (m) => (m.op === '=' && m.value !== '') || (m.op === '=~' && !new RegExp(`^(?:${m.value})$`).test('')),
  );
  if (!nonEmpty)
    throw new ParseError(
      'queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will',
    );
  return { matchers, filters };
}

function matches(labels: Record<string, string>, m: Matcher): boolean {
  const v = labels[m.name] ?? '';
  if (m.op === '=') return v === m.value;
  if (m.op === '!=') return v !== m.value;
  const re = new RegExp(`^(?:${m.value})$`);
  return m.op === '=~' ? re.test(v) : !re.test(v);
}

function passes(line: string, f: LineFilter): boolean {
  if (f.op === '|=') return line.includes(f.value);
  if (f.op === '!=') return !line.includes(f.value);
  const re = new RegExp(f.value);
  return f.op === '|~' ? re.test(line) : !re.test(line);
}

/** ns since the epoch from Loki's accepted forms: integer ns, float seconds, RFC3339. */
function nsOf(text: string | null, fallback: bigint): bigint {
  if (text === null) return fallback;
  if (/^\d+$/.test(text)) return BigInt(text);
  if (/^\d+\.\d+$/.test(text)) return BigInt(Math.round(Number(text) * 1e9));
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new ParseError(`invalid parameter "start/end": cannot parse "${text}" to a valid timestamp`);
  return BigInt(ms) * 1_000_000n;
}

function text(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

export async function startFakeLoki(
  opts: { token?: string; basic?: { user: string; password: string }; tenant?: string } = {},
): Promise<FakeLoki> {
  const entries: Entry[] = [];
  const tails = new Map<string, () => string[]>();

  const authorised = (req: SeenRequest) => {
    const auth = req.headers.authorization ?? '';
    if (opts.token) return auth === `Bearer ${opts.token}`;
    if (opts.basic)
      return auth === `Basic ${Buffer.from(`${opts.basic.user}:${opts.basic.password}`).toString('base64')}`;
    return true;
  };

  const fake = await fakeHttp((req, res) => {
    if (!authorised(req)) return text(res, 401, 'Unauthorized\n');
    if (req.path !== '/loki/api/v1/query_range') return text(res, 404, '404 page not found\n');
    const orgId = req.headers['x-scope-orgid'];
    if (opts.tenant && !orgId) return text(res, 400, 'no org id');
    const tenants = typeof orgId === 'string' ? orgId.split('|') : ['fake'];
    const limit = Number(req.query.get('limit') ?? '100');
    if (!Number.isInteger(limit) || limit <= 0)
      return text(res, 400, 'invalid parameter "limit": must be a positive integer');
    if (limit > 5000)
      return text(
        res,
        400,
        `max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > 5000)`,
      );
    let parsed: ReturnType<typeof parseLogQl>;
    let start: bigint;
    let end: bigint;
    try {
      const now = BigInt(Date.now()) * 1_000_000n;
      end = nsOf(req.query.get('end'), now);
      start = nsOf(req.query.get('start'), end - 3_600_000_000_000n);
      parsed = parseLogQl(req.query.get('query') ?? '');
    } catch (err) {
      if (err instanceof ParseError) return text(res, 400, err.message);
      throw err;
    }
    const forward = req.query.get('direction') === 'forward';
    const picked = entries
      .filter(
        (e) =>
          tenants.includes(e.tenant) &&
          e.ns >= start &&
          e.ns < end &&
          parsed.matchers.every((m) => matches(e.labels, m)) &&
          parsed.filters.every((f) => passes(e.line, f)),
      )
      .sort((a, b) => (a.ns === b.ns ? 0 : a.ns < b.ns === forward ? -1 : 1))
      .slice(0, limit);
    const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
    for (const e of picked) {
      const key = JSON.stringify(Object.entries(e.labels).sort());
      const s = streams.get(key) ?? { stream: e.labels, values: [] };
      s.values.push([String(e.ns), e.line]);
      streams.set(key, s);
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(
      JSON.stringify({
        status: 'success',
        data: {
          resultType: 'streams',
          result: [...streams.values()],
          stats: {
            summary: {
              execTime: 0.001,
              queueTime: 0.0001,
              totalEntriesReturned: picked.length,
              totalLinesProcessed: entries.length,
            },
          },
        },
      }),
    );
  });

  // Nanosecond stamps as Loki keeps them: distinct within one millisecond, in push order.
  let seq = 0;
  const stamp = (atMs: number) => BigInt(Math.floor(atMs)) * 1_000_000n + BigInt(seq++ % 1_000_000);

  const push: FakeLoki['push'] = (labels, lines, atMs = Date.now(), tenant = opts.tenant ?? 'fake') => {
    for (const line of lines) entries.push({ tenant, labels, ns: stamp(atMs), line });
  };
  return {
    ...fake,
    push,
    ship(path, labels) {
      const next = tails.get(path) ?? tailer(() => readFileSync(path, 'utf8'));
      tails.set(path, next);
      const lines = next();
      push(labels, lines);
      return lines.length;
    },
  };
}
