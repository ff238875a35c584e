import { upstreamAddress } from './address.js';
import type { ProxyLogEntry, ProxyLogParser, ProxySignature } from './log-patterns.js';
import { localTime, type WallClock } from './time.js';

// `YYYY/MM/DD HH:MM:SS [level]`, anywhere in the line: docker and log viewers prefix their own columns.
const HEAD = /(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(\w+)\] /;
const COUNTED_LEVELS = new Set(['error', 'crit', 'alert', 'emerg']);

interface Rule {
  test: RegExp;
  signature: ProxySignature;
}

/**
 * First match wins, so the specific phrases come before the errno numbers they
 * also contain. Errnos are matched by number: musl and glibc word them differently.
 */
const RULES: readonly Rule[] = [
  { test: /while SSL handshaking to upstream|SSL_do_handshake\(\) failed/, signature: 'tls' },
  { test: /no live upstreams/, signature: 'no_live_upstreams' },
  { test: /could not be resolved/, signature: 'dns' },
  { test: /host not found in upstream/, signature: 'config_host_not_found' },
  { test: /upstream timed out \(110: [^)]*\) while connecting to upstream/, signature: 'connect_timeout' },
  { test: /upstream timed out/, signature: 'timeout' },
  { test: /connect\(\) to unix:\S* failed \(11: /, signature: 'overloaded' },
  { test: /connect\(\) (?:to \S+ )?failed \((?:111|2|13): /, signature: 'refused' },
  { test: /\((?:101|113): /, signature: 'unreachable' },
  { test: /upstream prematurely closed connection/, signature: 'premature_close' },
  { test: /\((?:104|32): /, signature: 'reset' },
  { test: /upstream sent too big header/, signature: 'header_too_big' },
  { test: /upstream sent (?:invalid|no valid)/, signature: 'protocol_error' },
  { test: /client prematurely closed connection/, signature: 'client_abort' },
  { test: /upstream/, signature: 'other' },
];

function upstreamOf(message: string, signature: ProxySignature): string | null {
  const field = /, upstream: "([^"]*)"/.exec(message);
  if (field?.[1]) return upstreamAddress(field[1]);
  if (signature === 'dns') {
    const name =
      /\*\d+ (\S+) could not be resolved/.exec(message) ?? /(\S+) could not be resolved/.exec(message);
    return name?.[1] ?? null;
  }
  const inConfig = /host not found in upstream "([^"]+)"/.exec(message);
  if (inConfig?.[1]) return upstreamAddress(inConfig[1]);
  const connectTo = /connect\(\) to (\S+) failed/.exec(message);
  return connectTo?.[1] ? upstreamAddress(connectTo[1]) : null;
}

/** `(111: Connection refused)`, `upstream prematurely closed connection`: the words that decided it. */
function rawOf(message: string): string {
  const errno = /\((\d+: [^)]*)\)/.exec(message);
  if (errno?.[1]) return errno[1];
  const text = message.replace(/^\*\d+ /, '');
  return text.split(/, client: | while /)[0] ?? text;
}

/** One nginx error_log line; null for lines that are not about an upstream failure. */
export function parseNginxErrorLine(line: string): ProxyLogEntry | null {
  return nginxErrorLineParser(localTime)(line);
}

/** nginx error_log lines stamped by `clock`'s zone (the proxy host's), not gatewatch's. */
export function nginxErrorLineParser(clock: WallClock): ProxyLogParser {
  return (line) => parseWith(line, clock);
}

function parseWith(line: string, clock: WallClock): ProxyLogEntry | null {
  const head = HEAD.exec(line);
  if (!head) return null;
  const [, y, mo, d, h, mi, s, level] = head;
  if (!COUNTED_LEVELS.has(level ?? '')) return null;
  const message = line.slice(head.index + head[0].length);
  const rule = RULES.find((r) => r.test.test(message));
  if (!rule) return null;
  return {
    at: clock(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)),
    signature: rule.signature,
    upstream: upstreamOf(message, rule.signature),
    // nginx's error_log does not say which status the client got; the access log does.
    status: null,
    raw: rawOf(message),
  };
}
