import type { DatabaseEvidence } from '../../checks/database/check.js';
import { clamp, database, deadTargets, percent, troubleSeen } from '../evidence.js';
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

/** The database is out of connection slots (or at the playbook's threshold of them). */
export const dbSaturated: Rule = (ev) => {
  const db = database(ev);
  if (!db || !(db.saturated || db.outcome === 'too_many_connections')) return null;
  // Targets that refuse are down for their own reasons: a busy database does not close their ports.
  if (deadTargets(ev).length > 0) return null;
  const seen = troubleSeen(ev);
  const c = db.connections;
  const figures = c
    ? `${c.used} of ${c.usable} usable connections in use (${percent(c.ratio)})`
    : 'it refuses new connections: too many clients';
  return {
    cause: 'db_saturated',
    confidence: clamp((c ? 0.8 : 0.7) + (seen ? 0.1 : seen === false ? -0.25 : 0)),
    summary: `The ${db.kind} database ${db.target} is out of connections: ${figures}.`,
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
