import type { DatabaseEvidence } from '../checks/database.js';
import type { LoadEvidence, LoadResource } from '../checks/load.js';
import { database, loadRows, percent } from './evidence.js';
import type { Capacity, Evidence, Finding } from './types.js';

/**
 * The utilisation a scaled fleet should run at: the alert threshold less a
 * 15-point margin, and never above 70%. The margin keeps a burst or the loss of
 * one instance from pushing the rest straight back over the threshold; 70% is
 * the usual ceiling for latency-sensitive services (queueing delay grows
 * steeply beyond it).
 */
export function targetUtilisation(threshold: number): number {
  return Math.round(Math.max(0.1, Math.min(0.7, threshold - 0.15)) * 100) / 100;
}

export interface FleetLoad {
  resource: LoadResource;
  instances: number;
  /** Mean utilisation of the resource across the measured instances. */
  mean: number;
  threshold: number;
  target: number;
  /** Instances over the threshold. */
  hot: LoadEvidence[];
}

/** The resource that strains the fleet most (mean against its threshold), with the figures capacity needs. */
export function fleetLoad(ev: Evidence): FleetLoad | null {
  const rows = loadRows(ev);
  let best: FleetLoad | null = null;
  for (const resource of ['cpu', 'memory'] as const) {
    const measured = rows.filter((r) => r[resource] !== null);
    if (measured.length === 0) continue;
    const mean = measured.reduce((a, r) => a + (r[resource] ?? 0), 0) / measured.length;
    const threshold = Math.min(...measured.map((r) => r.thresholds[resource]));
    const hot = measured.filter((r) => r.over.includes(resource));
    const candidate: FleetLoad = {
      resource,
      instances: measured.length,
      mean: Math.round(mean * 1000) / 1000,
      threshold,
      target: targetUtilisation(threshold),
      hot,
    };
    if (!best || candidate.mean / candidate.threshold > best.mean / best.threshold) best = candidate;
  }
  return best;
}

/** instances × utilisation ÷ target, rounded up: the fleet size that runs at the target. */
export function suggestedInstances(instances: number, utilisation: number, target: number): number {
  // Rounded first so 3 × 0.7 ÷ 0.7 is 3, not 3.0000000000000004 → 4.
  return Math.max(instances, Math.ceil(Math.round(((instances * utilisation) / target) * 1e6) / 1e6));
}

export function fleetCapacity(f: FleetLoad): Capacity {
  return {
    resource: f.resource,
    instances: f.instances,
    utilisation: f.mean,
    target_utilisation: f.target,
    suggested_instances: suggestedInstances(f.instances, f.mean, f.target),
  };
}

/**
 * Database connections: `instances` is the usable slot count, and the
 * suggestion is the slot count that would hold today's connections at the
 * target share. Null when the database could not report its connections.
 */
export function connectionCapacity(db: DatabaseEvidence): Capacity | null {
  const c = db.connections;
  if (!c) return null;
  const target = targetUtilisation(db.thresholds.connections);
  return {
    resource: 'connections',
    instances: c.usable,
    utilisation: c.ratio,
    target_utilisation: target,
    suggested_instances: Math.max(c.usable, Math.ceil(Math.round((c.used / target) * 1e6) / 1e6)),
  };
}

/** The capacity of a scale-up finding; null for every other cause. */
export function capacityFor(finding: Finding, ev: Evidence): Capacity | null {
  if (finding.cause === 'upstream_saturated') {
    const f = fleetLoad(ev);
    return f ? fleetCapacity(f) : null;
  }
  if (finding.cause === 'db_saturated') {
    const db = database(ev);
    return db ? connectionCapacity(db) : null;
  }
  return null;
}

/** The action that states the capacity in words a person can act on. */
export function capacityAction(c: Capacity, db?: DatabaseEvidence): string {
  if (c.resource === 'connections')
    return `Raise the connection limit of ${db ? `${db.kind} ${db.target}` : 'the database'} from ${c.instances} to at least ${c.suggested_instances} usable connections (${Math.round(c.utilisation * c.instances)} in use = ${percent(c.utilisation)}; ${c.suggested_instances} keeps it at ${percent(c.target_utilisation)}), or put a pooler (PgBouncer/ProxySQL) in front and lower each app's pool size.`;
  return `Scale out from ${c.instances} to ${c.suggested_instances} instances: ${c.instances} × ${percent(c.utilisation)} mean ${c.resource} ÷ ${percent(c.target_utilisation)} target = ${((c.instances * c.utilisation) / c.target_utilisation).toFixed(2)}, rounded up.`;
}
