import type { ProxyLogEntry, ProxyLogParser, ProxySignature } from './log-patterns.js';
import { localTime, monthIndex, type WallClock } from './time.js';

// The accept date `[06/Feb/2009:12:14:14.655]`: present with or without a syslog header, and it has the year.
const ACCEPT_DATE = /\[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?\]/;
const TIMERS = /^-?\d+\/-?\d+\/-?\d+\/-?\d+\/\+?-?\d+$/;
const STATE = /^[A-Za-z-]{4}$/;

/**
 * Termination state (first two characters: who ended it, in which phase) to
 * signature. States not listed (normal `--`, local `L`, client request timeouts
 * `cR`) are not upstream failures.
 */
function signatureOf(state: string, line: string): ProxySignature | null {
  const who = state[0];
  const phase = state[1];
  const pair = `${who}${phase}`;
  switch (pair) {
    case 'SC':
      return 'refused';
    case 'sC':
      return 'connect_timeout';
    case 'SH':
      return /bc_err=ERESET/.test(line) ? 'reset' : 'premature_close';
    case 'sH':
    case 'sD':
      return 'timeout';
    case 'SD':
      return 'premature_close';
    case 'PH':
      return 'protocol_error';
    case 'sQ':
    case 'PC':
    case 'RC':
      return 'overloaded';
    case 'CC':
    case 'CH':
    case 'CQ':
      return 'client_abort';
  }
  if (who === 'D') return 'no_live_upstreams';
  if (who === 'S' || who === 's' || who === 'I') return 'other';
  return null;
}

function serverOf(tokens: readonly string[]): string | null {
  const named = [...tokens].reverse().find((t) => t.includes('/'));
  if (!named) return null;
  const server = named.slice(named.lastIndexOf('/') + 1);
  return server === '' || server === '<NOSRV>' ? null : server;
}

/** One HAProxy `option httplog` line; null for lines that are not about an upstream failure. */
export function parseHaproxyLine(line: string): ProxyLogEntry | null {
  return haproxyLineParser(localTime)(line);
}

/** HAProxy log lines whose accept date is in `clock`'s zone (the proxy host's), not gatewatch's. */
export function haproxyLineParser(clock: WallClock): ProxyLogParser {
  return (line) => parseWith(line, clock);
}

function parseWith(line: string, clock: WallClock): ProxyLogEntry | null {
  const date = ACCEPT_DATE.exec(line);
  if (!date) return null;
  const tokens = line
    .slice(date.index + date[0].length)
    .trim()
    .split(/\s+/);
  const t = tokens.findIndex((tok) => TIMERS.test(tok));
  if (t < 0) return null;
  const stateAt = tokens.findIndex((tok, i) => i > t + 2 && STATE.test(tok));
  const state = tokens[stateAt];
  if (!state) return null;
  const signature = signatureOf(state, line);
  if (!signature) return null;
  const [, d, mon, y, h, mi, s, ms] = date;
  const month = monthIndex(mon ?? '');
  const status = Number(tokens[t + 1]);
  return {
    at:
      month === undefined
        ? null
        : clock(
            Number(y),
            month,
            Number(d),
            Number(h),
            Number(mi),
            Number(s),
            Number((ms ?? '0').padEnd(3, '0')),
          ),
    signature,
    upstream: serverOf(tokens.slice(0, t)),
    status: Number.isInteger(status) && status > 0 ? status : null,
    raw: state,
  };
}
