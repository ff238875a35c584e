import type { DatabaseEvidence, LongQuery } from '../../checks/database/check.js';
import {
  cap,
  clamp,
  database,
  dbLabel,
  deadTargets,
  logCount,
  otherDatabases,
  resettingTargets,
  statusCount,
  targets,
  timingOutTargets,
  troubleSeen,
} from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

function terminate(db: DatabaseEvidence, id: number): string {
  return db.kind === 'mysql' ? `\`KILL ${id};\`` : `\`SELECT pg_terminate_backend(${id});\``;
}

function cancel(db: DatabaseEvidence, id: number): string {
  return db.kind === 'mysql' ? `\`KILL QUERY ${id};\`` : `\`SELECT pg_cancel_backend(${id});\``;
}

function quoted(q: string | null): string {
  return q ? `\`${q.length > 120 ? `${q.slice(0, 119)}…` : q}\`` : '(statement not visible)';
}

/** Sessions at the head of the lock queues: they hold what others wait for and wait for nothing themselves. */
export function rootBlockers(db: DatabaseEvidence): number[] {
  const waiting = new Set(db.lock_waits.map((w) => w.id));
  const all = [...new Set(db.lock_waits.flatMap((w) => w.blocked_by))];
  const roots = all.filter((id) => !waiting.has(id));
  return roots.length > 0 ? roots : all;
}

function blockerAction(db: DatabaseEvidence, id: number): string {
  const victims = db.lock_waits.filter((w) => w.blocked_by.includes(id));
  const own: LongQuery | undefined = db.long_queries.find((q) => q.id === id);
  const lock = victims.find((w) => w.lock)?.lock;
  const detail = own
    ? `its last statement ${quoted(own.query)}, ${own.state ?? 'running'} for ${own.seconds} s`
    : 'its statement is not visible to gatewatch';
  return `Session ${id} holds the lock${lock ? ` (${lock})` : ''} that ${victims.length === 1 ? '1 session waits' : `${victims.length} sessions wait`} on (${detail}). End it: ${terminate(db, id)}`;
}

/** Where to look when nothing in the evidence names the statement the database is busy with. */
function busyWith(db: DatabaseEvidence): string {
  if (db.kind === 'redis')
    return /^BUSY/.test(db.error ?? '')
      ? 'Redis is running a script past its time limit and answers every other client BUSY: stop it with `redis-cli SCRIPT KILL` (`SHUTDOWN NOSAVE` if it has written), then find the script in the app.'
      : 'Redis runs one command at a time: a long one (KEYS, a big DEL or SORT, DEBUG SLEEP, a slow Lua script) blocks every client. Once it answers, `redis-cli SLOWLOG GET 10` names it.';
  return `Find what the database is busy with: ${db.kind === 'mysql' ? '`SHOW FULL PROCESSLIST;`' : "`SELECT pid, now() - query_start AS age, wait_event_type, query FROM pg_stat_activity WHERE state <> 'idle' ORDER BY age DESC;`"}`;
}

/**
 * The database answers, but slowly: sessions wait on locks, queries run long,
 * or round trips exceed the threshold, with connections not saturated.
 */
export const dbSlow: Rule = (ev) => {
  const db = database(ev);
  if (!db || db.saturated) return null;
  // Targets that refuse are down for their own reasons: a busy database does not close their ports.
  if (deadTargets(ev).length > 0) return null;
  const stalled = db.outcome === 'timeout' && db.connect_ms !== null;
  if (db.outcome !== 'ok' && !stalled) return null;
  const locks = db.lock_waits.length;
  const long = db.long_queries.length;
  if (!stalled && locks === 0 && long === 0 && !db.slow) return null;
  const seen = troubleSeen(ev);
  // Slow statements on a database that is not hurting the site are housekeeping, not this incident.
  if (seen === false) return null;
  // A slow database makes the app wait (timeouts, 504s, its own 5xx); it does not make it reset
  // connections. Resets with no waiting in sight have another cause, whatever query runs long.
  const waiting =
    timingOutTargets(ev).length > 0 ||
    logCount(ev, 'timeout') > 0 ||
    statusCount(ev, 504) > 0 ||
    targets(ev).some((t) => t.outcome === 'http_5xx');
  const resetting = resettingTargets(ev).length > 0 || logCount(ev, 'crash') > 0;
  if (resetting && !waiting) return null;
  const blockers = rootBlockers(db);
  const others = db.long_queries
    .filter((q) => !blockers.includes(q.id) && !db.lock_waits.some((w) => w.id === q.id))
    .slice(0, 3);
  const parts = [
    locks
      ? `${locks} session${locks === 1 ? '' : 's'} wait on locks held by session ${blockers.join(', ')}`
      : null,
    long
      ? `${long} quer${long === 1 ? 'y has' : 'ies have'} run over ${Math.min(...db.long_queries.map((q) => q.seconds))} s`
      : null,
    db.slow && db.p95_ms !== null
      ? `round trips take ${db.p95_ms} ms at p95 (threshold ${db.thresholds.p95_ms} ms)`
      : null,
    stalled ? 'queries time out after connecting' : null,
  ].filter(Boolean);
  return {
    cause: 'db_slow',
    confidence: clamp((locks ? 0.85 : long ? 0.75 : 0.6) + (seen ? 0.05 : -0.1)),
    summary: `${cap(dbLabel(db))} is slow, not overloaded: ${parts.join('; ')}${otherDatabases(ev, db)}.`,
    actions: [
      ...blockers.map((id) => blockerAction(db, id)),
      ...others.map(
        (q) =>
          `Query ${q.id} has run ${q.seconds} s${q.user ? ` as ${q.user}` : ''}: ${quoted(q.query)}. Cancel it: ${cancel(db, q.id)}`,
      ),
      ...(locks === 0 && long === 0 ? [busyWith(db)] : []),
      'Then find why it ran so long (a migration, a missing index, a transaction left open by a job) before it happens again.',
    ],
  };
};

export const dbSlowCause = defineCause({
  id: 'db_slow',
  recommendation: 'fix',
  label: 'The database is slow from long queries or locks, not from load.',
  rule: dbSlow,
  triggeredBy: ['deploy'],
  colour: '#2ca02c',
});
