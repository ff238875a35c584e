import { errorMessage } from '../../../errors.js';
import { parseEnvoyLine } from './envoy.js';
import { parseHaproxyLine } from './haproxy.js';
import {
  type ProxyLogEntry,
  type ProxyLogFormat,
  type ProxyLogParser,
  type ProxySignature,
  SIGNATURES,
  type SignatureKind,
} from './log-patterns.js';
import { parseNginxErrorLine } from './nginx.js';
import { readTail } from './tail.js';

export const PARSERS: Readonly<Record<ProxyLogFormat, ProxyLogParser>> = {
  nginx: parseNginxErrorLine,
  haproxy: parseHaproxyLine,
  envoy: parseEnvoyLine,
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
  /** ISO time of the oldest line with this signature inside the window. */
  first_at?: string | null;
  upstreams: UpstreamCount[];
  /** The proxy's own words for it, e.g. `111: Connection refused`, `SH--`, `UF,URX`. */
  raw: string;
}

export interface ProxyLogSummary {
  path: string;
  format: ProxyLogFormat;
  window_minutes: number;
  /** ISO time the log was read: how long it has been quiet is measured from here. */
  read_at?: string;
  /** How long the log must be quiet after its last error before the incident counts as over. */
  quiet_minutes?: number;
  bytes_read: number;
  file_size: number;
  /** The file is larger than max_bytes: lines before the last max_bytes were not read. */
  truncated: boolean;
  /** Upstream failure lines inside the window (client aborts excluded). */
  errors: number;
  /** Failure lines older than the window, or with no readable time: not counted. */
  ignored: number;
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

/** Counts the failure lines of a log text that fall inside [since, ∞). */
export function summariseLog(
  text: string,
  format: ProxyLogFormat,
  since: number,
): Pick<ProxyLogSummary, 'errors' | 'ignored' | 'signatures' | 'dominant' | 'upstreams'> {
  const parse = PARSERS[format];
  const recent: ProxyLogEntry[] = [];
  let ignored = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const entry = parse(line);
    if (!entry) continue;
    if (entry.at === null || entry.at < since) ignored++;
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
      const oldest = entries.reduce((min, e) => Math.min(min, e.at ?? newest), newest);
      return {
        id,
        kind: SIGNATURES[id].kind,
        count: entries.length,
        last_at: new Date(newest).toISOString(),
        first_at: new Date(oldest).toISOString(),
        upstreams: countUpstreams(entries),
        raw: entries[entries.length - 1]?.raw ?? '',
      };
    })
    .sort((a, b) => b.count - a.count || a.id.localeCompare(b.id));
  const failures = recent.filter((e) => SIGNATURES[e.signature].kind !== 'client');
  return {
    errors: failures.length,
    ignored,
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
  quietMinutes?: number;
}): Promise<ProxyLogSummary> {
  const base = {
    path: opts.path,
    format: opts.format,
    window_minutes: opts.windowMinutes,
    ...(opts.quietMinutes !== undefined ? { quiet_minutes: opts.quietMinutes } : {}),
    read_at: new Date(opts.now).toISOString(),
  };
  try {
    const tail = await readTail(opts.path, opts.maxBytes);
    const counts = summariseLog(tail.text, opts.format, opts.now - opts.windowMinutes * 60_000);
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
      signatures: [],
      dominant: null,
      upstreams: [],
      error: `cannot read ${opts.path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
    };
  }
}
