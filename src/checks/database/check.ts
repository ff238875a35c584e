import { errorMessage } from '../../errors.js';
import type { DatabaseCheckConfig } from '../../playbooks/schema.js';
import { connectOnce } from '../connect.js';
import { percentile, round } from '../stats.js';
import type { Check, CheckContext, CheckOutput, CheckStatus } from '../types.js';
import { mysqlDriver } from './mysql.js';
import { postgresDriver } from './postgres.js';
import { redisDriver } from './redis.js';
import { describeTarget, dsnScrubber, scrubDeep } from './secrets.js';
import { normaliseSql } from './sql-text.js';
import type { DatabaseEvidence, DatabaseKind, DbDriver, DbOutcome, DbSession } from './types.js';

export type {
  ConnectionUse,
  DatabaseEvidence,
  DatabaseKind,
  DbOutcome,
  LockWait,
  LongQuery,
} from './types.js';

const DRIVERS: Record<DatabaseKind, { driver: DbDriver; port: number; schemes: readonly string[] }> = {
  postgres: { driver: postgresDriver, port: 5432, schemes: ['postgres:', 'postgresql:'] },
  mysql: { driver: mysqlDriver, port: 3306, schemes: ['mysql:'] },
  redis: { driver: redisDriver, port: 6379, schemes: ['redis:', 'rediss:'] },
};

/** Shares of the check budget: connecting slower than this already says the database is in trouble. */
const CONNECT_SHARE = 0.6;
const QUERY_SHARE = 0.5;
/** Kept back so the check reports its own timeout before the runner cuts it off. */
const BUDGET_SHARE = 0.9;

const FAILURE_WORDS: Record<Exclude<DbOutcome, 'ok'>, string> = {
  refused: 'refuses connections',
  auth: 'rejects the credentials',
  too_many_connections: 'is out of connection slots',
  timeout: 'does not answer in time',
  dns: 'does not resolve',
  error: 'cannot be reached',
};

function configError(summary: string): CheckOutput<DatabaseEvidence> {
  return { status: 'error', summary, evidence: [] };
}

function statusOf(e: DatabaseEvidence): CheckStatus {
  if (e.outcome !== 'ok' || e.saturated) return 'fail';
  if (e.failures > 0 || e.slow || e.long_queries.length > 0 || e.lock_waits.length > 0) return 'warn';
  return 'ok';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function summarise(e: DatabaseEvidence): string {
  const name = `${e.kind} ${e.target}`;
  if (e.outcome !== 'ok') return `${name} ${FAILURE_WORDS[e.outcome]}${e.error ? `: ${e.error}` : ''}`;
  const parts: string[] = [];
  if (e.p95_ms !== null) parts.push(`p95 ${e.p95_ms} ms${e.slow ? ` (over ${e.thresholds.p95_ms} ms)` : ''}`);
  if (e.failures > 0) parts.push(`${e.failures}/${e.probes} probes failed`);
  if (e.connections)
    parts.push(
      `${e.connections.used}/${e.connections.usable} connections (${Math.round(e.connections.ratio * 100)}%${e.saturated ? ', saturated' : ''})`,
    );
  parts.push(e.long_queries.length ? plural(e.long_queries.length, 'long query') : 'no long queries');
  if (e.lock_waits.length) parts.push(plural(e.lock_waits.length, 'lock wait'));
  return `${name}: ${parts.join(', ')}`;
}

/**
 * The reading, or a rejection once the check's deadline passes: a driver whose query
 * never settles (a socket destroyed mid-query is not always reported) must not hold
 * the whole check past its budget and lose every other reading with it.
 */
function beforeDeadline<T>(work: Promise<T>, deadline: AbortSignal): Promise<T> {
  if (deadline.aborted) {
    work.catch(() => {});
    return Promise.reject(new Error('the check ran out of time'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('the check ran out of time'));
    deadline.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => deadline.removeEventListener('abort', onAbort));
  });
}

async function measure(
  session: DbSession,
  config: DatabaseCheckConfig,
  evidence: DatabaseEvidence,
  deadline: AbortSignal,
  classify: (err: unknown) => DbOutcome,
): Promise<void> {
  const times: number[] = [];
  let firstError: unknown;
  for (let i = 0; i < config.probes && !deadline.aborted; i++) {
    const start = performance.now();
    try {
      await beforeDeadline(session.ping(), deadline);
      times.push(performance.now() - start);
    } catch (err) {
      firstError ??= err;
    }
  }
  evidence.probes = config.probes;
  evidence.failures = config.probes - times.length;
  const p50 = percentile(times, 50);
  const p95 = percentile(times, 95);
  evidence.p50_ms = p50 === null ? null : round(p50);
  evidence.p95_ms = p95 === null ? null : round(p95);
  if (times.length === 0) {
    evidence.outcome = deadline.aborted ? 'timeout' : classify(firstError);
    evidence.error = firstError ? errorMessage(firstError) : 'no probe answered';
    return;
  }
  // Each reading on its own: a missing privilege costs that figure, not the others.
  const read = async <T>(what: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
    if (deadline.aborted) {
      evidence.notes.push(`${what}: not read, the check ran out of time`);
      return fallback;
    }
    try {
      return await beforeDeadline(fn(), deadline);
    } catch (err) {
      evidence.notes.push(
        `${what}: ${deadline.aborted ? 'not read, the check ran out of time' : errorMessage(err)}`,
      );
      return fallback;
    }
  };
  evidence.connections = await read('connections', () => session.connections(), null);
  evidence.long_queries = await read(
    'long queries',
    () => session.longQueries(config.long_query_seconds),
    [],
  );
  evidence.lock_waits = await read('lock waits', () => session.lockWaits(), []);
  // Literals never leave the check: the verdict, Slack, PagerDuty and the logs see `?`.
  if (config.kind !== 'redis') {
    const dialect = config.kind;
    evidence.long_queries = evidence.long_queries.map((q) => ({
      ...q,
      query: normaliseSql(q.query, dialect),
    }));
    evidence.lock_waits = evidence.lock_waits.map((w) => ({ ...w, query: normaliseSql(w.query, dialect) }));
  }
}

/**
 * A login that timed out: does the server still take TCP connections? Then it is
 * up but blocked (a Redis running a long command, a server stuck on a lock):
 * slowness, not unavailability, and the accepted connection's time is its connect_ms.
 */
async function blockedOrGone(
  evidence: DatabaseEvidence,
  dsn: string,
  kind: DatabaseKind,
  signal: AbortSignal,
) {
  const url = new URL(dsn);
  const host = url.hostname.replace(/^\[|\]$/g, '') || 'localhost';
  const port = Number(url.port || DRIVERS[kind].port);
  const tcp = await connectOnce({ host, port }, 500, signal);
  if (tcp.outcome !== 'ok') return;
  evidence.connect_ms = round(tcp.ms);
  evidence.notes.push('the server accepts TCP connections but does not answer: up, but blocked or busy');
}

async function probeDatabase(
  config: DatabaseCheckConfig,
  ctx: CheckContext,
  dsn: string,
  target: string,
): Promise<DatabaseEvidence> {
  const evidence: DatabaseEvidence = {
    name: config.name ?? config.url_env,
    kind: config.kind,
    target,
    outcome: 'ok',
    status: 'ok',
    error: null,
    connect_ms: null,
    probes: 0,
    failures: 0,
    p50_ms: null,
    p95_ms: null,
    connections: null,
    long_queries: [],
    lock_waits: [],
    slow: false,
    saturated: false,
    thresholds: { p95_ms: config.thresholds.p95_ms, connections: config.thresholds.connections },
    notes: [],
  };
  const budgetMs = Math.max(50, Math.floor(ctx.timeoutMs * BUDGET_SHARE));
  // A hang longer than the playbook's timeout_ms (the proxy's own timeout) is known: no need to wait longer.
  const cap = config.timeout_ms ?? Number.POSITIVE_INFINITY;
  const connectMs = Math.max(50, Math.min(cap, Math.floor(ctx.timeoutMs * CONNECT_SHARE)));
  const budget = timer(ctx.signal, budgetMs);
  const connecting = timer(budget.signal, connectMs);
  try {
    return await probeWithin(config, ctx, dsn, evidence, budget.signal, connecting.signal, connectMs);
  } finally {
    budget.clear();
    connecting.clear();
  }
}

/**
 * A signal that aborts after `ms` or with `parent`, held by a plain timer: the check's
 * deadlines must fire even when nothing else references them (composite
 * `AbortSignal.any`/`timeout` signals may be collected with their listeners).
 */
function timer(parent: AbortSignal, ms: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort(parent.reason ?? new Error(`timed out after ${ms} ms`));
  if (parent.aborted) abort();
  parent.addEventListener('abort', abort, { once: true });
  const t = setTimeout(abort, ms);
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(t);
      parent.removeEventListener('abort', abort);
    },
  };
}

async function probeWithin(
  config: DatabaseCheckConfig,
  ctx: CheckContext,
  dsn: string,
  evidence: DatabaseEvidence,
  deadline: AbortSignal,
  connectDeadline: AbortSignal,
  connectMs: number,
): Promise<DatabaseEvidence> {
  const { driver } = DRIVERS[config.kind];
  const cap = config.timeout_ms ?? Number.POSITIVE_INFINITY;

  const started = performance.now();
  let session: DbSession;
  try {
    const opening = driver.open(dsn, {
      queryTimeoutMs: Math.max(50, Math.min(cap, Math.floor(ctx.timeoutMs * QUERY_SHARE))),
      signal: connectDeadline,
    });
    // A driver that settles only after the deadline leaves no session behind.
    session = await beforeDeadline(opening, connectDeadline).catch((err) => {
      opening.then(
        (late) => late.destroy(),
        () => {},
      );
      throw err;
    });
  } catch (err) {
    const timedOut = connectDeadline.aborted;
    evidence.outcome = timedOut ? 'timeout' : driver.classify(err);
    evidence.error = timedOut ? `no connection within ${connectMs} ms` : errorMessage(err);
    evidence.saturated = evidence.outcome === 'too_many_connections';
    evidence.probes = 1;
    evidence.failures = 1;
    if (evidence.outcome === 'timeout') await blockedOrGone(evidence, dsn, config.kind, ctx.signal);
    return evidence;
  }
  evidence.connect_ms = round(performance.now() - started);
  const onAbort = () => session.destroy();
  deadline.addEventListener('abort', onAbort, { once: true });
  try {
    await measure(session, config, evidence, deadline, (err) => driver.classify(err));
  } finally {
    deadline.removeEventListener('abort', onAbort);
    // A polite close that does not come back in time is a dropped socket.
    if (deadline.aborted) session.destroy();
    else await beforeDeadline(session.close(), deadline).catch(() => session.destroy());
  }
  evidence.slow = evidence.p95_ms !== null && evidence.p95_ms > config.thresholds.p95_ms;
  evidence.busy_sessions = busySessions(evidence.connections);
  evidence.cores = config.cores ?? null;
  evidence.saturated =
    evidence.connections !== null && evidence.connections.ratio >= config.thresholds.connections;
  return evidence;
}

/** Sessions running a statement, less gatewatch's own (idle and idle-in-transaction sessions are not load). */
function busySessions(c: DatabaseEvidence['connections']): number | null {
  if (!c) return null;
  const running = c.by_state.active ?? c.by_state.running;
  return running === undefined ? null : Math.max(0, running - 1);
}

const RANK: Record<CheckStatus, number> = { ok: 0, skipped: 0, warn: 1, error: 2, fail: 3 };

async function runOne(
  config: DatabaseCheckConfig,
  ctx: CheckContext,
): Promise<CheckOutput<DatabaseEvidence>> {
  const { port, schemes } = DRIVERS[config.kind];
  const name = config.name ?? config.url_env;
  const dsn = ctx.env[config.url_env];
  if (!dsn) return configError(`${config.url_env} is not set: it should hold the ${config.kind} URL`);
  let target: string;
  try {
    if (!schemes.includes(new URL(dsn).protocol)) throw new Error('scheme');
    target = describeTarget(dsn, port);
  } catch {
    // Never echo the value: it is a secret even when it is malformed.
    return configError(`${config.url_env} is not a ${config.kind} URL (${schemes[0]}//host:port/…)`);
  }
  const scrub = dsnScrubber(dsn);
  const log = ctx.log.child({ database: target, kind: config.kind, name });
  const evidence = scrubDeep(await probeDatabase(config, ctx, dsn, target), scrub);
  evidence.name = name;
  evidence.status = statusOf(evidence);
  log.debug(
    { outcome: evidence.outcome, p95_ms: evidence.p95_ms, connections: evidence.connections?.ratio },
    'database probed',
  );
  if (evidence.error) log.info({ outcome: evidence.outcome, error: evidence.error }, 'database unreachable');
  return { status: evidence.status, summary: summarise(evidence), evidence: [evidence] };
}

export const databaseCheck: Check<'database', DatabaseEvidence> = {
  name: 'database',
  async run(config, ctx): Promise<CheckOutput<DatabaseEvidence>> {
    // One database (the original form) or several, probed in parallel; each one's evidence carries its name.
    if (!Array.isArray(config)) return runOne(config, ctx);
    const outs = await Promise.all(config.map((db) => runOne(db, ctx)));
    const named = outs.map((o, i) => `${config[i]!.name ?? config[i]!.url_env}: ${o.summary}`);
    const errors = outs.filter((o) => o.status === 'error');
    // A database that could not be configured is reported, but the others' evidence still counts.
    const status = outs
      .filter((o) => errors.length === outs.length || o.status !== 'error')
      .reduce<CheckStatus>((worst, o) => (RANK[o.status] > RANK[worst] ? o.status : worst), 'ok');
    return {
      status: errors.length > 0 && status === 'ok' ? 'warn' : status,
      summary: named.join('; '),
      evidence: outs.flatMap((o) => o.evidence),
    };
  },
};
