import type { DatabaseEvidence } from '../../checks/database/check.js';
import {
  cap,
  clamp,
  database,
  dbLabel,
  deadTargets,
  otherDatabases,
  percent,
  troubleSeen,
} from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

function whoHolds(db: DatabaseEvidence): string {
  if (db.kind === 'postgres')
    return 'See who holds the connections: `SELECT usename, application_name, client_addr, state, count(*) FROM pg_stat_activity GROUP BY 1,2,3,4 ORDER BY 5 DESC;`';
  if (db.kind === 'mysql')
    return 'See who holds the connections: `SELECT user, host, command, count(*) FROM information_schema.PROCESSLIST GROUP BY 1,2,3 ORDER BY 4 DESC;`';
  return 'See who holds the connections: `redis-cli CLIENT LIST` (group by addr and name).';
}

function idleAction(db: DatabaseEvidence): string | null {
  const idle = db.connections?.by_state['idle in transaction'] ?? 0;
  if (db.kind !== 'postgres' || idle === 0) return null;
  return `${idle} sessions sit idle in a transaction: end the stale ones with \`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' AND state_change < now() - interval '5 minutes';\``;
}

/** Sessions running a statement now; null where the server does not say (Redis). */
function busy(db: DatabaseEvidence): number | null {
  return db.busy_sessions ?? null;
}

/** More sessions running at once than the database host has CPUs: its CPU is the bottleneck. */
function cpuBound(db: DatabaseEvidence): boolean {
  const b = busy(db);
  return db.outcome === 'ok' && db.cores != null && b !== null && b >= db.cores;
}

/**
 * The database is out of connection slots (or at the playbook's threshold of
 * them) with the slots doing work, or out of CPU (more sessions running than it
 * has cores). Slots held by idle pooled sessions are a pool to size, not load:
 * a bigger database would not help, so that is not this cause.
 */
export const dbSaturated: Rule = (ev) => {
  const db = database(ev);
  if (!db) return null;
  // Targets that refuse are down for their own reasons: a busy database does not close their ports.
  if (deadTargets(ev).length > 0) return null;
  const refused = db.outcome === 'too_many_connections';
  const b = busy(db);
  // Slots still free, most held by idle pooled sessions: not (yet) out of connections.
  const c0 = db.connections;
  const idleSlots = db.saturated && !refused && b !== null && c0 !== null && c0.ratio < 1 && b * 2 < c0.used;
  const slots = refused || (db.saturated && !idleSlots);
  if (!slots && !cpuBound(db)) return null;
  const seen = troubleSeen(ev);
  if (!slots) {
    return {
      cause: 'db_saturated',
      confidence: clamp(0.7 + (db.slow ? 0.1 : 0) + (seen ? 0.05 : seen === false ? -0.25 : 0)),
      summary: `${cap(dbLabel(db))} is out of CPU: ${b} sessions run at once on its ${db.cores} cores${db.slow ? `, and round trips take ${db.p95_ms} ms at p95` : ''}.`,
      actions: [
        `Find the statements that burn it: ${db.kind === 'mysql' ? '`SELECT * FROM sys.statement_analysis ORDER BY total_latency DESC LIMIT 10;`' : '`SELECT query, calls, total_exec_time FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 10;`'} — a missing index turns one query into a CPU hog.`,
        `If the work is necessary, give the database more CPU (a larger instance than ${db.cores} cores) or move reads to a replica.`,
      ],
    };
  }
  const c = db.connections;
  const figures = c
    ? `${c.used} of ${c.usable} usable connections in use (${percent(c.ratio)})`
    : 'it refuses new connections: too many clients';
  return {
    cause: 'db_saturated',
    confidence: clamp((c ? 0.8 : 0.7) + (seen ? 0.1 : seen === false ? -0.25 : 0)),
    summary: `${cap(dbLabel(db))} is out of connections: ${figures}${otherDatabases(ev, db)}.`,
    actions: [
      whoHolds(db),
      ...(idleAction(db) ? [idleAction(db) as string] : []),
      "Check each app's pool size × instances fits under the limit; a pool that never returns connections is a leak to fix, not load.",
    ],
  };
};

export const dbSaturatedCause = defineCause({
  id: 'db_saturated',
  recommendation: 'scale-up',
  label: 'The database is out of connections or CPU.',
  rule: dbSaturated,
  triggeredBy: [],
  colour: '#17becf',
});
