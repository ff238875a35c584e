import { classifyNetworkError } from '../net-errors.js';
import type { CheckStatus } from '../types.js';

export type DatabaseKind = 'postgres' | 'mysql' | 'redis';

/**
 * How reaching the database went. The verdict engine tells db_unavailable
 * (refused, auth, dns), db_saturated (too_many_connections) and slowness apart
 * by this, so each failure keeps its own word.
 */
export type DbOutcome = 'ok' | 'refused' | 'auth' | 'too_many_connections' | 'timeout' | 'dns' | 'error';

export interface ConnectionUse {
  /** Client connections open now (gatewatch's own included). */
  used: number;
  /** The server's configured limit. */
  max: number;
  /** What an ordinary client can reach: `max` less the slots reserved for superusers. */
  usable: number;
  /** used / usable, 0..1 (may exceed 1 when superusers hold reserved slots). */
  ratio: number;
  /** Connections by state where the server reports it (PostgreSQL `state`, MySQL `Threads_running`). */
  by_state: Record<string, number>;
}

export interface LongQuery {
  id: number;
  seconds: number;
  user: string | null;
  state: string | null;
  /** What it waits on, when it waits (`Lock:relation`, `Waiting for table metadata lock`). */
  wait: string | null;
  /** The statement, cut to 200 characters. */
  query: string | null;
}

export interface LockWait {
  id: number;
  seconds: number | null;
  /** Sessions holding the lock this one waits for. */
  blocked_by: number[];
  lock: string | null;
  query: string | null;
}

export interface DatabaseEvidence {
  /** The playbook's name for this database (its `name`, else its `url_env`); absent in evidence from older runs. */
  name?: string;
  kind: DatabaseKind;
  /** host:port/database, never credentials. */
  target: string;
  outcome: DbOutcome;
  status: CheckStatus;
  error: string | null;
  connect_ms: number | null;
  probes: number;
  failures: number;
  p50_ms: number | null;
  p95_ms: number | null;
  connections: ConnectionUse | null;
  long_queries: LongQuery[];
  lock_waits: LockWait[];
  /** p95 round trip above the playbook's threshold. */
  slow: boolean;
  /** Connections at or above the playbook's threshold, or refused for lack of slots. */
  saturated: boolean;
  thresholds: { p95_ms: number; connections: number };
  /** Sessions running a statement now, gatewatch's own excluded (PostgreSQL `active`, MySQL `Threads_running`). */
  busy_sessions?: number | null;
  /** The database host's CPUs, from the playbook: busy sessions above it mean its CPU is saturated. */
  cores?: number | null;
  /** Readings that could not be taken (missing privilege, older server), already scrubbed. */
  notes: string[];
}

/** One open connection to a database, for one check run. */
export interface DbSession {
  ping(): Promise<void>;
  connections(): Promise<ConnectionUse | null>;
  longQueries(minSeconds: number): Promise<LongQuery[]>;
  lockWaits(): Promise<LockWait[]>;
  /** Polite close; never throws. */
  close(): Promise<void>;
  /** Drops the socket at once, for an abort or a timeout. */
  destroy(): void;
}

export interface DbDriver {
  /** Connects, or rejects once `signal` aborts (the caller's connect deadline); never leaves a socket behind. */
  open(dsn: string, opts: { queryTimeoutMs: number; signal: AbortSignal }): Promise<DbSession>;
  /** Classifies a connection or query error by its codes. */
  classify(err: unknown): DbOutcome;
}

/** Collapses whitespace and cuts a statement for evidence. */
export function clip(query: string | null | undefined, max = 200): string | null {
  if (!query) return null;
  const flat = query.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function usage(used: number, max: number, reserved: number, byState: Record<string, number>) {
  const usable = Math.max(1, max - reserved);
  return { used, max, usable, ratio: Math.round((used / usable) * 1000) / 1000, by_state: byState };
}

/** The outcome of an error no driver code explains: what the network layer says, else a plain error. */
export function networkOutcome(err: unknown): DbOutcome {
  const net = classifyNetworkError(err);
  return net === 'refused' || net === 'timeout' || net === 'dns' ? net : 'error';
}
