import type { DatabaseEvidence } from '../checks/database/check.js';
import { type LoadEvidence, type LoadResource, loopSaturated } from '../checks/load/check.js';
import { database, dbLabel, loadRows, percent } from './evidence.js';
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
  /**
   * Instances under the threshold that still burn far more than their peers:
   * on a shared host a runaway process gets only its share of the CPU, so its
   * reading can fall under the threshold, but it stays many times its peers'.
   */
  skewed: LoadEvidence[];
}

/** An outlier uses at least this share of the threshold (low: on a machine busy with other work a runaway thread may get a tenth of a core)… */
const SKEW_MIN_OF_THRESHOLD = 0.1;
/**
 * …and this many times its peers' median plus a floor of 8 points, so an idle
 * fleet's everyday unevenness (one instance at 9% running a cron, peers at 1%)
 * is no outlier, while a runaway given a fifth of a core still is.
 */
const SKEW_RATIO = 4;
const SKEW_FLOOR = 0.08;

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function outliers(
  measured: readonly LoadEvidence[],
  resource: LoadResource,
  threshold: number,
): LoadEvidence[] {
  if (measured.length < 2) return [];
  return measured.filter((r) => {
    const v = r[resource] ?? 0;
    if (r.over.includes(resource) || v < threshold * SKEW_MIN_OF_THRESHOLD) return false;
    const peers = measured.filter((p) => p !== r).map((p) => p[resource] ?? 0);
    return v >= SKEW_RATIO * median(peers) + SKEW_FLOOR;
  });
}

/** "host:port cpu 91%, …" for the instances a finding names. */
export function instanceList(rows: readonly LoadEvidence[], resource: LoadResource): string {
  return rows
    .map((r) =>
      resource === 'cpu' && loopSaturated(r)
        ? `${r.instance} CPU-bound (event loop lag ${Math.round((r.loop_lag_s ?? 0) * 1000)} ms p99${r.cpu === null ? `; its metrics then hung past ${r.unanswered_ms ?? '?'} ms, so no CPU rate` : ` at ${percent(r.cpu)} CPU: it gets no more from its host`})`
        : `${r.instance} ${resource} ${percent(r[resource] ?? 0)}`,
    )
    .join(', ');
}

/**
 * The utilisation capacity is computed from. A process whose event loop never
 * idles uses all it is given: at least its whole capacity, even when a shared
 * host gives it less than that to measure.
 */
export function utilisation(r: LoadEvidence, resource: LoadResource): number | null {
  const v = r[resource];
  if (resource === 'cpu' && loopSaturated(r)) return Math.max(v ?? 0, 1);
  return v;
}

/** The resource that strains the fleet most (mean against its threshold), with the figures capacity needs. */
export function fleetLoad(ev: Evidence): FleetLoad | null {
  const rows = loadRows(ev);
  let best: FleetLoad | null = null;
  for (const resource of ['cpu', 'memory'] as const) {
    const measured = rows.filter((r) => utilisation(r, resource) !== null);
    if (measured.length === 0) continue;
    const mean = measured.reduce((a, r) => a + (utilisation(r, resource) ?? 0), 0) / measured.length;
    const threshold = Math.min(...measured.map((r) => r.thresholds[resource]));
    const hot = measured.filter((r) => r.over.includes(resource));
    const candidate: FleetLoad = {
      resource,
      instances: measured.length,
      mean: Math.round(mean * 1000) / 1000,
      threshold,
      target: targetUtilisation(threshold),
      hot,
      skewed: outliers(measured, resource, threshold),
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
    return `Raise the connection limit of ${db ? dbLabel(db) : 'the database'} from ${c.instances} to at least ${c.suggested_instances} usable connections (${Math.round(c.utilisation * c.instances)} in use = ${percent(c.utilisation)}; ${c.suggested_instances} keeps it at ${percent(c.target_utilisation)}), or put a pooler (PgBouncer/ProxySQL) in front and lower each app's pool size.`;
  return `Scale out from ${c.instances} to ${c.suggested_instances} instances: ${c.instances} × ${percent(c.utilisation)} mean ${c.resource} ÷ ${percent(c.target_utilisation)} target = ${((c.instances * c.utilisation) / c.target_utilisation).toFixed(2)}, rounded up.`;
}
