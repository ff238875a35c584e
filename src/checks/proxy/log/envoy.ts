import { upstreamAddress } from './address.js';
import type { ProxyLogEntry, ProxySignature } from './log-patterns.js';
import { isoTime } from './time.js';

/**
 * Envoy response flags to signatures, most telling first: `UF,URX` is a
 * connection failure retried to exhaustion, so UF decides, not URX.
 */
const FLAGS: readonly [string, ProxySignature][] = [
  ['DF', 'dns'],
  ['UH', 'no_live_upstreams'],
  ['NR', 'no_route'],
  ['NC', 'no_route'],
  ['UF', 'connect_failure'],
  ['UT', 'timeout'],
  ['UC', 'premature_close'],
  ['UR', 'reset'],
  ['UPE', 'protocol_error'],
  ['UO', 'overloaded'],
  ['LR', 'other'],
  ['URX', 'connect_failure'],
  ['DC', 'client_abort'],
];

interface Fields {
  at: number | null;
  flags: string | null;
  status: number | null;
  upstream: string | null;
}

function pick(obj: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const k of keys) {
    const v = k
      .split('.')
      .reduce<unknown>(
        (o, part) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[part] : undefined),
        obj,
      );
    if (v !== undefined && v !== null && v !== '-') return v;
  }
  return undefined;
}

// JSON access logs have no fixed keys: these are Envoy's, Istio's and the common camelCase spellings.
function fromJson(line: string): Fields | null {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return null;
  }
  if (!obj || typeof obj !== 'object') return null;
  const o = obj as Record<string, unknown>;
  const at = pick(o, ['start_time', 'startTime', 'timestamp', '@timestamp']);
  const flags = pick(o, ['response_flags', 'responseFlags', 'response_flag']);
  const status = pick(o, ['response_code', 'responseCode', 'status']);
  const upstream = pick(o, ['upstream_host', 'upstreamHost', 'upstream.host', 'upstream']);
  return {
    at: typeof at === 'string' ? isoTime(at) : null,
    flags: typeof flags === 'string' ? flags : null,
    status: Number(status) || null,
    upstream: typeof upstream === 'string' ? upstreamAddress(upstream) : null,
  };
}

// Envoy's default text format: `[START] "METHOD PATH PROTO" CODE FLAGS ... "UPSTREAM_HOST"`.
const DEFAULT_FORMAT = /^\[([^\]]+)\] "[^"]*" (\d{3}|0) (\S+) .*"([^"]*)"\s*$/;

function fromText(line: string): Fields | null {
  const def = DEFAULT_FORMAT.exec(line);
  if (def) {
    return {
      at: isoTime(def[1] ?? ''),
      status: Number(def[2]) || null,
      flags: def[3] ?? null,
      upstream: upstreamAddress(def[4] ?? ''),
    };
  }
  // Custom key=value formats: take the usual key names, and a unix time in the leading brackets.
  const flags = /\bresponse_flags?=(\S+)/.exec(line)?.[1] ?? null;
  if (!flags) return null;
  const epoch = /^\[[^\]]*?\b(\d{10})(?:\.\d+)?\]/.exec(line)?.[1];
  const iso = /^\[([^\]\s]+)\]/.exec(line)?.[1];
  return {
    at: epoch ? Number(epoch) * 1000 : iso ? isoTime(iso) : null,
    flags,
    status: Number(/\b(?:status|response_code)=(\d{3})\b/.exec(line)?.[1]) || null,
    upstream: upstreamAddress(/\bupstream(?:_host)?=(\S+)/.exec(line)?.[1] ?? ''),
  };
}

/** One Envoy access-log line (default text, JSON, or key=value); null when its flags show no failure. */
export function parseEnvoyLine(line: string): ProxyLogEntry | null {
  const trimmed = line.trim();
  const fields = trimmed.startsWith('{') ? fromJson(trimmed) : fromText(trimmed);
  if (!fields?.flags || fields.flags === '-') return null;
  const flags = fields.flags.split(',').map((f) => f.trim());
  const match = FLAGS.find(([flag]) => flags.includes(flag));
  if (!match) return null;
  return {
    at: fields.at,
    signature: match[1],
    upstream: fields.upstream,
    status: fields.status,
    raw: fields.flags,
  };
}
