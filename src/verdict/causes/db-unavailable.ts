import type { DatabaseEvidence, DbOutcome } from '../../checks/database/check.js';
import { cap, clamp, database, dbLabel, otherDatabases, troubleSeen } from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

function hostOf(db: DatabaseEvidence): string {
  return db.target.split('/')[0] ?? db.target;
}

const STEPS: Partial<Record<DbOutcome, (db: DatabaseEvidence) => string>> = {
  refused: (db) =>
    `Start ${db.kind} on ${hostOf(db)}: nothing listens there (\`systemctl status ${db.kind === 'postgres' ? 'postgresql' : db.kind === 'mysql' ? 'mariadb' : 'redis-server'}\`, its log); check disk space and OOM kills (\`dmesg | grep -i kill\`).`,
  auth: (db) =>
    `${db.kind} on ${db.target} rejects the app's credentials: check the user and password in the secret the app reads (rotated password? a pg_hba.conf or GRANT change?).`,
  dns: (db) =>
    `The database host in ${db.target} does not resolve: check its DNS record (\`dig ${hostOf(db).replace(/:\d+$/, '')}\`).`,
  timeout: (db) =>
    `No connection to ${db.kind} on ${hostOf(db)} in time: check the host is up and the path from the app to it (\`nc -vz ${hostOf(db).replace(/:(\d+)$/, ' $1')}\`, firewall, security group).`,
  error: (db) =>
    `${db.kind} on ${hostOf(db)} cannot be reached (${db.error ?? 'error'}): check the host and its log.`,
};

/**
 * The database cannot be connected to at all. A connection that came up and
 * then timed out is slowness, not unavailability (db_slow); out of slots is db_saturated.
 */
export const dbUnavailable: Rule = (ev) => {
  const db = database(ev);
  if (!db) return null;
  const unavailable =
    db.outcome === 'refused' ||
    db.outcome === 'auth' ||
    db.outcome === 'dns' ||
    ((db.outcome === 'timeout' || db.outcome === 'error') && db.connect_ms === null);
  if (!unavailable) return null;
  const seen = troubleSeen(ev);
  const step = STEPS[db.outcome];
  return {
    cause: 'db_unavailable',
    confidence: clamp(seen === true ? 0.9 : seen === null ? 0.75 : 0.5),
    summary: `${cap(dbLabel(db))} ${db.outcome === 'auth' ? 'rejects the credentials' : db.outcome === 'refused' ? 'refuses connections' : 'cannot be reached'}${seen ? ', so the app behind the proxy fails its requests' : ''}${otherDatabases(ev, db)}.`,
    actions: [
      ...(step ? [step(db)] : []),
      'Once it accepts connections, confirm the app answers its health check and the proxy stops returning 502.',
    ],
    // A stopped database follows its own config change; credentials also break with an app deploy.
    fits: db.outcome === 'auth' || db.outcome === 'dns' ? ['deploy', 'config'] : ['config'],
  };
};

export const dbUnavailableCause = defineCause({
  id: 'db_unavailable',
  recommendation: 'fix',
  label: 'The database refuses connections.',
  rule: dbUnavailable,
  triggeredBy: ['config'],
  colour: '#a61c3c',
});
