import { errorMessage } from '../../../errors.js';
import { parseEnvoyLine } from './envoy.js';
import { haproxyLineParser, parseHaproxyLine } from './haproxy.js';
import {
  type ProxyLogEntry,
  type ProxyLogFormat,
  type ProxyLogParser,
  type ProxySignature,
  SIGNATURES,
  type SignatureKind,
} from './log-patterns.js';
import { nginxErrorLineParser, parseNginxErrorLine } from './nginx.js';
import { readTail } from './tail.js';
import { type WallClock, zonedClock } from './time.js';

export const PARSERS: Readonly<Record<ProxyLogFormat, ProxyLogParser>> = {
  nginx: parseNginxErrorLine,
  haproxy: parseHaproxyLine,
  envoy: parseEnvoyLine,
};

/** The formats whose stamps carry no zone: their parsers read them in a given zone. */
const ZONED_PARSERS: Readonly<Partial<Record<ProxyLogFormat, (clock: WallClock) => ProxyLogParser>>> = {
  nginx: nginxErrorLineParser,
  haproxy: haproxyLineParser,
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
  path: string;
  format: ProxyLogFormat;
  window_minutes: number;
  bytes_read: number;
  file_size: number;
  /** The file is larger than max_bytes: lines before the last max_bytes were not read. */
  truncated: boolean;
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

/**
 * Counts the failure lines of a log text that fall inside [since, now + skew].
 * `timeZone` (IANA) is the zone zone-less stamps were written in.
 */
export function summariseLog(
  text: string,
  format: ProxyLogFormat,
  since: number,
  opts: { timeZone?: string; now?: number } = {},
): Pick<ProxyLogSummary, 'errors' | 'ignored' | 'future' | 'signatures' | 'dominant' | 'upstreams'> {
  const zoned = opts.timeZone ? ZONED_PARSERS[format] : undefined;
  const parse = zoned && opts.timeZone ? zoned(zonedClock(opts.timeZone)) : PARSERS[format];
  const until = (opts.now ?? Date.now()) + FUTURE_SKEW_MS;
  const recent: ProxyLogEntry[] = [];
  let ignored = 0;
  let future = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const entry = parse(line);
    if (!entry) continue;
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

/** Reads the end of a proxy log (at most maxBytes) and counts the recent failure lines by signature. */
export async function readProxyLog(opts: {
  path: string;
  format: ProxyLogFormat;
  maxBytes: number;
  windowMinutes: number;
  now: number;
  timeZone?: string;
}): Promise<ProxyLogSummary> {
  const base = {
    path: opts.path,
    format: opts.format,
    window_minutes: opts.windowMinutes,
  };
  try {
    const tail = await readTail(opts.path, opts.maxBytes);
    const counts = summariseLog(tail.text, opts.format, opts.now - opts.windowMinutes * 60_000, {
      timeZone: opts.timeZone,
      now: opts.now,
    });
    return {
      ...base,
      bytes_read: tail.bytes_read,
      file_size: tail.file_size,
      truncated: tail.truncated,
      ...counts,
      error: null,
    };
  } catch (err) {
    return {
      ...base,
      bytes_read: 0,
      file_size: 0,
      truncated: false,
      errors: 0,
      ignored: 0,
      future: 0,
      signatures: [],
      dominant: null,
      upstreams: [],
      error: `cannot read ${opts.path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
    };
  }
}
