import type { ChangeEvidence } from '../checks/changes/check.js';
import type { DatabaseEvidence } from '../checks/database/check.js';
import { type LoadEvidence, loopSaturated } from '../checks/load/check.js';
import {
  type LearnedUpstream,
  type ProxyEvidence,
  type ProxyLogEvidence,
  type ProxySampleEvidence,
  proxyLearnedTargets,
  proxyLog,
  proxySample,
} from '../checks/proxy/check.js';
import type { SignatureKind } from '../checks/proxy/log/log-patterns.js';

import type { CheckResult } from '../checks/types.js';
import type { UpstreamEvidence } from '../checks/upstream/check.js';
import type { Evidence } from './types.js';

/**
 * Typed access to each check's evidence. A check that errored or was skipped
 * counts as absent: its empty evidence must not read as "all clear".
 */
export function collectEvidence(results: readonly CheckResult[]): Evidence {
  const byName = <E>(name: CheckResult['name']) => {
    const r = results.find((x) => x.name === name);
    return r && r.status !== 'error' && r.status !== 'skipped' ? (r as CheckResult<E>) : undefined;
  };
  return {
    results,
    upstream: byName<UpstreamEvidence>('upstream'),
    proxy: byName<ProxyEvidence>('proxy'),
    load: byName<LoadEvidence>('load'),
    database: byName<DatabaseEvidence>('database'),
    changes: byName<ChangeEvidence>('changes'),
  };
}

export function hostPort(t: { host: string; port: number }): string {
  if (t.port === 0) return `unix:${t.host}`;
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

/**
 * The servers behind the proxy: the playbook's targets as probed (the app's own
 * dependencies are not among them); without them, the upstreams the proxy's stats name.
 */
export function targets(ev: Evidence): UpstreamEvidence[] {
  const probed = ev.upstream?.evidence;
  return probed ? probed.filter((t) => t.role !== 'dependency') : learnedTargets(ev);
}

/** The app's own downstream services, probed from here. */
export function dependencies(ev: Evidence): UpstreamEvidence[] {
  return (ev.upstream?.evidence ?? []).filter((t) => t.role === 'dependency');
}

/** The upstreams learned from the proxy's stats (`proxy.stats`), each as upstream evidence. */
export function learnedTargets(ev: Evidence): LearnedUpstream[] {
  return proxyLearnedTargets(ev.proxy?.evidence ?? []);
}

/**
 * Targets that cannot even be connected to: refused, or timed out / failed
 * before the TCP connection was up. A target that accepted and then failed is
 * alive at the socket level and belongs to the crash, timeout or saturation rules.
 */
export function unreachable(t: UpstreamEvidence): boolean {
  if (t.status !== 'fail') return false;
  if (t.outcome === 'refused') return true;
  return (t.outcome === 'timeout' || t.outcome === 'error') && t.connect_ms === null;
}

export function deadTargets(ev: Evidence): UpstreamEvidence[] {
  return targets(ev).filter(unreachable);
}

/** Targets that accepted the connection and then reset or closed it. */
export function resettingTargets(ev: Evidence): UpstreamEvidence[] {
  return targets(ev).filter((t) => t.outcome === 'reset' && t.connect_ms !== null);
}

/** Targets that were connected to but did not answer within the probe timeout. */
export function timingOutTargets(ev: Evidence): UpstreamEvidence[] {
  return targets(ev).filter((t) => t.outcome === 'timeout' && t.connect_ms !== null);
}

export function sample(ev: Evidence): ProxySampleEvidence | undefined {
  const s = proxySample(ev.proxy?.evidence ?? []);
  return s && s.samples > 0 ? s : undefined;
}

/** The proxy's log, when it could be read. */
export function log(ev: Evidence): ProxyLogEvidence | undefined {
  const l = proxyLog(ev.proxy?.evidence ?? []);
  return l && !l.error ? l : undefined;
}

/** Are users getting gateway errors now? null when nothing sampled through the proxy. */
export function gatewayErrorsNow(ev: Evidence): boolean | null {
  const s = sample(ev);
  if (!s) return null;
  const answered = Object.values(s.statuses).reduce((a, b) => a + b, 0);
  return s.gateway_errors > 0 || answered === 0;
}

/** How many sampled requests got a 2xx/3xx answer through the proxy. */
export function goodAnswers(ev: Evidence): number {
  const s = sample(ev);
  if (!s) return 0;
  return Object.entries(s.statuses)
    .filter(([status]) => Number(status) < 400)
    .reduce((a, [, n]) => a + n, 0);
}

/** Sampled requests that got exactly this status. */
export function statusCount(ev: Evidence, status: number): number {
  return sample(ev)?.statuses[String(status)] ?? 0;
}

/** The kind of the log's dominant signature, with its count and share of counted errors. */
export function dominantLog(
  ev: Evidence,
): { kind: SignatureKind; id: string; count: number; share: number } | null {
  const l = log(ev);
  if (!l || l.errors === 0 || !l.dominant) return null;
  const top = l.signatures.find((s) => s.id === l.dominant);
  if (!top) return null;
  return { kind: top.kind, id: top.id, count: top.count, share: top.count / l.errors };
}

/** Counted log errors whose signature is of this kind. */
export function logCount(ev: Evidence, kind: SignatureKind): number {
  return (log(ev)?.signatures ?? []).filter((s) => s.kind === kind).reduce((a, s) => a + s.count, 0);
}

/** Addresses (host:port, names) the log's lines of this kind name. */
export function logUpstreams(ev: Evidence, kind?: SignatureKind): { address: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const s of log(ev)?.signatures ?? [])
    if (!kind || s.kind === kind)
      for (const u of s.upstreams) counts.set(u.address, (counts.get(u.address) ?? 0) + u.count);
  return [...counts].map(([address, count]) => ({ address, count })).sort((a, b) => b.count - a.count);
}

/** Every address a target is known by: its name and resolved addresses, each with its port. */
export function targetAddresses(ev: Evidence): Set<string> {
  const out = new Set<string>();
  for (const t of targets(ev)) {
    out.add(hostPort(t));
    for (const a of t.addresses) out.add(hostPort({ host: a, port: t.port }));
    if (t.host === 'localhost') {
      out.add(`127.0.0.1:${t.port}`);
      out.add(`[::1]:${t.port}`);
    }
  }
  return out;
}

/** Every database the playbook lists, as probed. */
export function databases(ev: Evidence): DatabaseEvidence[] {
  return ev.database?.evidence ?? [];
}

/**
 * How bad a database's state is, for picking the one that explains the incident:
 * unreachable, then out of slots, then blocked or slow, then failed probes, then fine.
 */
export function dbSeverity(db: DatabaseEvidence): number {
  if (db.outcome === 'too_many_connections') return 3;
  if (db.outcome === 'timeout' && db.connect_ms !== null) return 2;
  if (db.outcome !== 'ok') return 4;
  if (db.saturated) return 3;
  if (db.lock_waits.length > 0 || db.long_queries.length > 0 || db.slow) return 2;
  if (db.failures > 0) return 1;
  return 0;
}

/**
 * The database that explains the incident: with several, the worst one (the rules judge it
 * and name it); the first listed on a tie. The old single-database form is a list of one.
 */
export function database(ev: Evidence): DatabaseEvidence | undefined {
  return databases(ev).reduce<DatabaseEvidence | undefined>(
    (worst, db) => (!worst || dbSeverity(db) > dbSeverity(worst) ? db : worst),
    undefined,
  );
}

/** `the postgres database orders (db:5432/shop)` with a name, `the postgres database db:5432/shop` without. */
export function dbLabel(db: DatabaseEvidence): string {
  return `the ${db.kind} database ${db.name ? `${db.name} (${db.target})` : db.target}`;
}

/** The other databases, when the playbook lists several: said so the reader knows they were looked at. */
export function otherDatabases(ev: Evidence, db: DatabaseEvidence): string {
  const others = databases(ev).filter((d) => d !== db);
  if (others.length === 0) return '';
  const fine = others.filter((d) => dbSeverity(d) === 0);
  const names = (ds: DatabaseEvidence[]) => ds.map((d) => d.name ?? d.target).join(', ');
  return fine.length === others.length
    ? ` (${names(others)} ${others.length === 1 ? 'is' : 'are'} fine)`
    : ` (also in trouble: ${names(others.filter((d) => dbSeverity(d) > 0))})`;
}

/** Load rows that carry a CPU or memory reading. */
export function loadRows(ev: Evidence): LoadEvidence[] {
  return (ev.load?.evidence ?? []).filter(
    (r) => !r.error && (r.cpu !== null || r.memory !== null || loopSaturated(r)),
  );
}

/** Scraped instances whose metrics endpoint did not answer within the playbook's timeout: busy or hung. */
export function hungInstances(ev: Evidence): LoadEvidence[] {
  return (ev.load?.evidence ?? []).filter((r) => r.unanswered_ms !== undefined && r.over.length === 0);
}

export function changes(ev: Evidence): ChangeEvidence[] {
  return ev.changes?.evidence ?? [];
}

/** The sentence's first letter in upper case. */
export function cap(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function percent(n: number): string {
  return `${Math.round(n * 100)}%`;
}

export function clamp(confidence: number): number {
  return Math.round(Math.max(0.05, Math.min(0.95, confidence)) * 100) / 100;
}

/**
 * Is the incident visible in the path users take: gateway errors through the
 * proxy now, a target that is not healthy, or (with nothing sampled) recent
 * errors in the proxy's log? null when no proxy or upstream evidence exists.
 */
export function troubleSeen(ev: Evidence): boolean | null {
  const now = gatewayErrorsNow(ev);
  if (now) return true;
  if (targets(ev).some((t) => t.status !== 'ok')) return true;
  if (now === null && (log(ev)?.errors ?? 0) > 0) return true;
  if (now === null && targets(ev).length === 0 && !log(ev)) return null;
  return false;
}

/**
 * How long the proxy's log must have been quiet before "no 502s now" means
 * recovered: intermittent 502s (a keep-alive race, a crash loop) leave minutes
 * between bursts, and a few lucky samples prove nothing.
 */
export const QUIET_MINUTES = 5;

/** Counted log lines with one of these signature ids. */
export function logById(ev: Evidence, ids: readonly string[]): number {
  return (log(ev)?.signatures ?? []).filter((s) => ids.includes(s.id)).reduce((a, s) => a + s.count, 0);
}

/** The log's signatures with one of these ids. */
export function logSignatures(ev: Evidence, ids: readonly string[]) {
  return (log(ev)?.signatures ?? []).filter((s) => ids.includes(s.id));
}

/** Minutes from the newest upstream error in the log to the moment it was read; null without errors or times. */
export function quietMinutes(ev: Evidence): number | null {
  const l = log(ev);
  if (!l || l.errors === 0 || !l.read_at) return null;
  const newest = Math.max(
    ...l.signatures.filter((s) => s.kind !== 'client' && s.last_at).map((s) => Date.parse(s.last_at!)),
  );
  if (!Number.isFinite(newest)) return null;
  return Math.max(0, (Date.parse(l.read_at) - newest) / 60_000);
}

/**
 * Is the log's trouble part of the incident now? Errors in the log, and either
 * gateway errors sampled now, nothing sampled, or the last error too recent to
 * call the log quiet.
 */
export function logActive(ev: Evidence): boolean {
  const l = log(ev);
  if (!l || l.errors === 0) return false;
  if (gatewayErrorsNow(ev) !== false) return true;
  const quiet = quietMinutes(ev);
  return quiet === null || quiet < quietNeeded(ev);
}

/** How long the log must be quiet before the incident counts as over: the playbook's, else QUIET_MINUTES. */
export function quietNeeded(ev: Evidence): number {
  return log(ev)?.quiet_minutes ?? QUIET_MINUTES;
}

/** Some load reading is over its threshold. */
export function loadOver(ev: Evidence): boolean {
  return loadRows(ev).some((r) => r.over.length > 0);
}
