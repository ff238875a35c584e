import { round } from '../stats.js';
import type { Snapshot } from './fetch.js';

export interface StubStatus {
  active: number;
  accepts: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

/** nginx's stub_status figures over the sampling interval. */
export interface StubStatusFigures {
  active: number;
  reading: number;
  writing: number;
  waiting: number;
  requests_per_s: number | null;
  /** Connections accepted but not handled during the interval: worker_connections is exhausted. */
  dropped: number;
}

/**
 * ```
 * Active connections: 291
 * server accepts handled requests
 *  16630948 16630948 31070465
 * Reading: 6 Writing: 179 Waiting: 106
 * ```
 */
export function parseStubStatus(text: string): StubStatus | null {
  const active = /Active connections:\s*(\d+)/.exec(text);
  const counters = /server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  const rww = /Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/.exec(text);
  if (!active || !counters || !rww) return null;
  return {
    active: Number(active[1]),
    accepts: Number(counters[1]),
    handled: Number(counters[2]),
    requests: Number(counters[3]),
    reading: Number(rww[1]),
    writing: Number(rww[2]),
    waiting: Number(rww[3]),
  };
}

export function stubStatusFigures(first: Snapshot, second: Snapshot): StubStatusFigures | null {
  const a = parseStubStatus(first.text);
  const b = parseStubStatus(second.text);
  if (!a || !b) return null;
  const seconds = (second.at - first.at) / 1000;
  return {
    active: b.active,
    reading: b.reading,
    writing: b.writing,
    waiting: b.waiting,
    requests_per_s: seconds > 0 ? round((b.requests - a.requests) / seconds, 1) : null,
    dropped: Math.max(0, b.accepts - a.accepts - (b.handled - a.handled)),
  };
}
