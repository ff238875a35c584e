import { errorMessage } from '../../../errors.js';
import { remoteFailure } from '../remote.js';
import { parseEnvoyLine } from './envoy.js';
import { haproxyLineParser, parseHaproxyLine } from './haproxy.js';
import { ingressNginxLineParser, parseIngressNginxLine } from './ingress-nginx.js';
import {
  type ProxyLogEntry,
  type ProxyLogFormat,
  type ProxyLogParser,
  type ProxySignature,
  SIGNATURES,
  type SignatureKind,
} from './log-patterns.js';
import { nginxErrorLineParser, parseNginxErrorLine } from './nginx.js';
import { LOG_SOURCES } from './sources/registry.js';
import type { LogReadRequest, StoredLine } from './sources/types.js';
import { type WallClock, zonedClock } from './time.js';

export const PARSERS: Readonly<Record<ProxyLogFormat, ProxyLogParser>> = {
  nginx: parseNginxErrorLine,
  haproxy: parseHaproxyLine,
  envoy: parseEnvoyLine,
  'ingress-nginx': parseIngressNginxLine,
};

/** The formats whose stamps carry no zone: their parsers read them in a given zone. */
const ZONED_PARSERS: Readonly<Partial<Record<ProxyLogFormat, (clock: WallClock) => ProxyLogParser>>> = {
  nginx: nginxErrorLineParser,
  haproxy: haproxyLineParser,
  'ingress-nginx': (clock) => ingressNginxLineParser(nginxErrorLineParser(clock)),
};

export interface UpstreamCount {
  /** host:port, group or server name, or unix:/path, as the log names it. */
  address: string;
  count: number;
}

export interface SignatureCount {
  id: ProxySignature;
  kind: SignatureKind;
  count: number;
  /** ISO time of the newest line with this signature. */
  last_at: string | null;
  upstreams: UpstreamCount[];
  /** The proxy's own words for it, e.g. `111: Connection refused`, `SH--`, `UF,URX`. */
  raw: string;
}

export interface ProxyLogSummary {
  /** Where the lines came from: `file`, `loki` or `elasticsearch`. */
  source?: LogSourceName;
  /** The file's path, or the store's URL and query (never credentials). */
  path: string;
  format: ProxyLogFormat;
  window_minutes: number;
  bytes_read: number;
  file_size: number;
  /** The file is larger than max_bytes, or the store hit its line limit: older lines were not read. */
  truncated: boolean;
  /** Why lines were left unread, in words; null when nothing was. */
  truncated_reason?: string | null;
  /** Lines the source handed over (every line, failures or not). */
  lines_read?: number;
  /** A log store answered incompletely (failed shards, its own timeout); null when complete. */
  partial?: string | null;
  /** Upstream failure lines inside the window (client aborts excluded). */
  errors: number;
  /** Failure lines older than the window, or with no readable time: not counted. */
  ignored: number;
  /** Failure lines stamped later than now (beyond clock skew): a wrong `timezone`, not counted. */
  future?: number;
  /** Most frequent first. */
  signatures: SignatureCount[];
  /** The signature with the most lines in the window (client aborts never dominate). */
  dominant: ProxySignature | null;
  /** Every upstream the counted lines name, most named first. */
  upstreams: UpstreamCount[];
  error: string | null;
}

function countUpstreams(entries: readonly ProxyLogEntry[]): UpstreamCount[] {
  const counts = new Map<string, number>();
  for (const e of entries) if (e.upstream) counts.set(e.upstream, (counts.get(e.upstream) ?? 0) + 1);
  return [...counts]
    .map(([address, count]) => ({ address, count }))
    .sort((a, b) => b.count - a.count || a.address.localeCompare(b.address));
}

/** Hosts' clocks differ a little; a line further ahead than this was read in the wrong zone. */
export const FUTURE_SKEW_MS = 2 * 60_000;

type LineCounts = Pick<
  ProxyLogSummary,
  'errors' | 'ignored' | 'future' | 'signatures' | 'dominant' | 'upstreams'
>;

/**
 * Counts the failure lines of a log text that fall inside [since, now + skew].
 * `timeZone` (IANA) is the zone zone-less stamps were written in.
 */
export function summariseLog(
  text: string,
  format: ProxyLogFormat,
  since: number,
  opts: { timeZone?: string; now?: number } = {},
): LineCounts {
  return summariseLines(
    text.split('\n').map((line) => ({ text: line, at: null })),
    format,
    since,
    opts,
  );
}

/**
 * Counts the failure lines inside [since, now + skew]. A line's time is the store's
 * when it has one (a log store's own timestamp), else what the line itself says.
 */
export function summariseLines(
  lines: readonly StoredLine[],
  format: ProxyLogFormat,
  since: number,
  opts: { timeZone?: string; now?: number } = {},
): LineCounts {
  const zoned = opts.timeZone ? ZONED_PARSERS[format] : undefined;
  const parse = zoned && opts.timeZone ? zoned(zonedClock(opts.timeZone)) : PARSERS[format];
  const until = (opts.now ?? Date.now()) + FUTURE_SKEW_MS;
  const recent: ProxyLogEntry[] = [];
  let ignored = 0;
  let future = 0;
  for (const line of lines) {
    if (line.text.trim() === '') continue;
    const parsed = parse(line.text);
    if (!parsed) continue;
    const entry = line.at === null ? parsed : { ...parsed, at: line.at };
    if (entry.at === null || entry.at < since) ignored++;
    else if (entry.at > until) future++;
    else recent.push(entry);
  }
  const groups = new Map<ProxySignature, ProxyLogEntry[]>();
  for (const e of recent) {
    const group = groups.get(e.signature);
    if (group) group.push(e);
    else groups.set(e.signature, [e]);
  }
  const signatures: SignatureCount[] = [...groups]
    .map(([id, entries]) => {
      const newest = entries.reduce((max, e) => Math.max(max, e.at ?? 0), 0);
      return {
        id,
        kind: SIGNATURES[id].kind,
        count: entries.length,
        last_at: new Date(newest).toISOString(),
        upstreams: countUpstreams(entries),
        raw: entries[entries.length - 1]?.raw ?? '',
      };
    })
    .sort((a, b) => b.count - a.count || a.id.localeCompare(b.id));
  const failures = recent.filter((e) => SIGNATURES[e.signature].kind !== 'client');
  return {
    errors: failures.length,
    ignored,
    future,
    signatures,
    dominant: signatures.find((s) => s.kind !== 'client')?.id ?? null,
    upstreams: countUpstreams(failures),
  };
}

type LogSourceName = NonNullable<LogReadRequest['config']['source']>;

/**
 * Reads the proxy's error log from its source (the file's tail, or the incident
 * window from a log store) and counts the recent failure lines by signature. A
 * source that cannot be read gives a summary with `error` set, never a throw.
 */
export async function readProxyLog(
  req: Omit<LogReadRequest, 'since' | 'until'> & { now: number },
): Promise<ProxyLogSummary> {
  const { config } = req;
  const source: LogSourceName = config.source ?? 'file';
  const since = req.now - config.window_minutes * 60_000;
  const base = {
    source,
    format: config.format,
    window_minutes: config.window_minutes,
  };
  try {
    const read = await LOG_SOURCES[source]({ ...req, since, until: req.now + 1 });
    const counts = summariseLines(read.lines, config.format, since, {
      timeZone: config.timezone,
      now: req.now,
    });
    return {
      ...base,
      path: read.location,
      bytes_read: read.bytes_read,
      file_size: read.size ?? read.bytes_read,
      truncated: read.truncated !== null,
      truncated_reason: read.truncated,
      lines_read: read.lines.filter((l) => l.text.trim() !== '').length,
      partial: read.partial,
      ...counts,
      error: null,
    };
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    const error =
      source === 'file'
        ? `cannot read ${config.path}: ${errno ?? errorMessage(err)}`
        : `${source} unreadable: ${remoteFailure(err, req.timeoutMs)}`;
    return {
      ...base,
      path: source === 'file' ? (config.path ?? '') : source,
      bytes_read: 0,
      file_size: 0,
      truncated: false,
      truncated_reason: null,
      lines_read: 0,
      partial: null,
      errors: 0,
      ignored: 0,
      future: 0,
      signatures: [],
      dominant: null,
      upstreams: [],
      error,
    };
  }
}
