// Hand-made evidence for the rule tables: each builder fills a check's evidence
// with healthy defaults so a case states only what differs.
import type { ChangeEvidence } from '../../src/checks/changes/check.js';
import type { DatabaseEvidence } from '../../src/checks/database/check.js';
import type { LoadEvidence } from '../../src/checks/load/check.js';
import type {
  ProxyEvidence,
  ProxyLogEvidence,
  ProxySampleEvidence,
  ProxyStatsEvidence,
  SignatureCount,
} from '../../src/checks/proxy/check.js';
import { SIGNATURES } from '../../src/checks/proxy/check.js';
import type { UpstreamFailure } from '../../src/checks/proxy/stats/types.js';
import type { CheckResult, CheckStatus } from '../../src/checks/types.js';
import type { UpstreamEvidence } from '../../src/checks/upstream/check.js';
import { decide } from '../../src/verdict/engine.js';
import { collectEvidence } from '../../src/verdict/evidence.js';
import type { Evidence, Verdict } from '../../src/verdict/types.js';

export type Outcome = UpstreamEvidence['outcome'];

export function target(
  port: number,
  outcome: Outcome = 'ok',
  over: Partial<UpstreamEvidence> = {},
): UpstreamEvidence {
  const connected = outcome !== 'refused' && outcome !== 'dns';
  const ok = outcome === 'ok';
  return {
    target: `http://127.0.0.1:${port}/healthz`,
    host: '127.0.0.1',
    port,
    outcome,
    status: ok ? 'ok' : 'fail',
    probes: 3,
    failures: ok ? 0 : 3,
    outcomes: { [outcome]: 3 },
    http_status: ok ? 200 : outcome === 'http_5xx' ? 503 : null,
    addresses: outcome === 'dns' ? [] : ['127.0.0.1'],
    dns_ms: 0,
    connect_ms: connected ? 0.4 : null,
    p50_ms: ok ? 2 : null,
    p95_ms: ok ? 3 : null,
    error: ok ? null : outcome,
    ...over,
  };
}

function worst(statuses: CheckStatus[]): CheckStatus {
  for (const s of ['fail', 'warn', 'ok'] as const) if (statuses.includes(s)) return s;
  return 'ok';
}

export function upstream(...ts: UpstreamEvidence[]): CheckResult<UpstreamEvidence> {
  return {
    name: 'upstream',
    status: worst(ts.map((t) => t.status)),
    summary: 'upstream',
    duration_ms: 10,
    evidence: ts,
  };
}

export function proxySample(
  statuses: Record<string, number>,
  noAnswer: ProxySampleEvidence['no_answer'] = {},
): ProxySampleEvidence {
  const samples =
    Object.values(statuses).reduce((a, b) => a + b, 0) +
    Object.values(noAnswer).reduce((a, b) => a + (b ?? 0), 0);
  const gateway = (statuses['502'] ?? 0) + (statuses['503'] ?? 0) + (statuses['504'] ?? 0);
  return {
    kind: 'sample',
    url: 'http://127.0.0.1:8080/health',
    samples,
    gateway_errors: gateway,
    gateway_error_share: samples ? gateway / samples : 0,
    statuses,
    no_answer: noAnswer,
    server: gateway ? 'nginx' : null,
    p50_ms: 2,
    p95_ms: 3,
  };
}

/**
 * A log summary from `[signature, count, upstream address, raw?, minutes ago of the
 * first and last line?]` rows, read at `readAt` (default now; lines default to now).
 */
export function proxyLogOf(
  rows: [keyof typeof SIGNATURES, number, string | null, string?, [number, number]?][],
  readAt = Date.now(),
): ProxyLogEvidence {
  const ago = (m: number) => new Date(readAt - m * 60_000).toISOString();
  const signatures: SignatureCount[] = rows
    .map(([id, count, address, raw, when]) => ({
      id,
      kind: SIGNATURES[id].kind,
      count,
      last_at: ago(when?.[1] ?? 0),
      first_at: ago(when?.[0] ?? 0),
      upstreams: address ? [{ address, count }] : [],
      raw: raw ?? id,
    }))
    .sort((a, b) => b.count - a.count);
  const failures = signatures.filter((s) => s.kind !== 'client');
  return {
    kind: 'log',
    path: '/var/log/nginx/error.log',
    format: 'nginx',
    window_minutes: 15,
    read_at: new Date(readAt).toISOString(),
    bytes_read: 100,
    file_size: 100,
    truncated: false,
    errors: failures.reduce((a, s) => a + s.count, 0),
    ignored: 0,
    signatures,
    dominant: failures[0]?.id ?? null,
    upstreams: failures.flatMap((s) => s.upstreams),
    error: null,
  };
}

/** HAProxy's stats for backend be_app: one server per entry, up unless its failure says otherwise. */
export function proxyStatsOf(
  servers: { port: number; failure?: UpstreamFailure | null; gauges?: Record<string, number> }[],
): ProxyStatsEvidence {
  return {
    kind: 'stats',
    proxy: 'haproxy',
    url: 'http://127.0.0.1:8404/stats;csv',
    backend: 'be_app',
    interval_ms: 1000,
    upstreams: servers.map((s, i) => ({
      ...target(s.port),
      target: `be_app/app${i + 1} (127.0.0.1:${s.port})`,
      probes: 1,
      status: s.failure === 'queue_full' ? 'warn' : 'ok',
      error: s.failure === 'queue_full' ? 'queue full: the proxy says: UP' : null,
      proxy_view: {
        name: `app${i + 1}`,
        backend: 'be_app',
        state: 'up',
        failure: s.failure ?? null,
        detail: 'UP',
        counters: {},
        gauges: s.gauges ?? {},
        rates: {},
      },
    })),
    in_maintenance: [],
    backends: [],
    bytes_read: 1200,
    truncated: false,
    error: null,
  };
}

export function proxy(...parts: ProxyEvidence[]): CheckResult<ProxyEvidence> {
  const s = parts.find((p): p is ProxySampleEvidence => p.kind === 'sample');
  const l = parts.find((p): p is ProxyLogEvidence => p.kind === 'log');
  const status: CheckStatus = s && s.gateway_errors > 0 ? 'fail' : l && l.errors > 0 ? 'warn' : 'ok';
  return { name: 'proxy', status, summary: 'proxy', duration_ms: 10, evidence: parts };
}

export function loadRow(
  instance: string,
  cpu: number | null,
  over: Partial<LoadEvidence> = {},
): LoadEvidence {
  const thresholds = over.thresholds ?? { cpu: 0.85, memory: 0.9 };
  const memory = over.memory ?? null;
  const overList = (['cpu', 'memory'] as const).filter((r) => {
    const v = r === 'cpu' ? cpu : memory;
    return v !== null && v > thresholds[r];
  });
  return {
    instance,
    source: 'process',
    endpoint: `http://${instance}/metrics`,
    status: overList.length ? 'fail' : 'ok',
    cpu,
    memory,
    load: null,
    cpu_cores: 1,
    memory_bytes: null,
    connections: null,
    loop_lag_s: null,
    thresholds,
    over: overList,
    error: null,
    ...over,
  };
}

export function load(...rows: LoadEvidence[]): CheckResult<LoadEvidence> {
  return {
    name: 'load',
    status: worst(rows.map((r) => r.status)),
    summary: 'load',
    duration_ms: 1000,
    evidence: rows,
  };
}

export function db(over: Partial<DatabaseEvidence> = {}): DatabaseEvidence {
  return {
    kind: 'postgres',
    target: '127.0.0.1:5432/app',
    outcome: 'ok',
    status: 'ok',
    error: null,
    connect_ms: 2,
    probes: 5,
    failures: 0,
    p50_ms: 0.5,
    p95_ms: 1,
    connections: { used: 5, max: 100, usable: 97, ratio: 0.052, by_state: { active: 1, idle: 4 } },
    long_queries: [],
    lock_waits: [],
    slow: false,
    saturated: false,
    thresholds: { p95_ms: 100, connections: 0.9 },
    notes: [],
    ...over,
  };
}

export function database(e: DatabaseEvidence): CheckResult<DatabaseEvidence> {
  const status: CheckStatus =
    e.outcome !== 'ok' || e.saturated
      ? 'fail'
      : e.slow || e.long_queries.length || e.lock_waits.length
        ? 'warn'
        : 'ok';
  return { name: 'database', status, summary: 'database', duration_ms: 20, evidence: [{ ...e, status }] };
}

/** The database check of a playbook that lists several databases: one evidence item each. */
export function databases(...es: DatabaseEvidence[]): CheckResult<DatabaseEvidence> {
  const each = es.map((e) => database(e));
  const rank = { ok: 0, skipped: 0, warn: 1, error: 2, fail: 3 } as const;
  const status = each.reduce<CheckStatus>((w, r) => (rank[r.status] > rank[w] ? r.status : w), 'ok');
  return {
    name: 'database',
    status,
    summary: 'databases',
    duration_ms: 20,
    evidence: each.flatMap((r) => r.evidence),
  };
}

export const ONSET = Date.parse('2025-03-10T12:00:00Z');

export function change(
  kind: ChangeEvidence['kind'],
  minutesBefore: number,
  over: Partial<ChangeEvidence> = {},
): ChangeEvidence {
  return {
    kind,
    ref: `${kind === 'deploy' ? 'd' : 'c'}${String(minutesBefore).padStart(6, '0')}`,
    summary: `${kind} ${minutesBefore} min before`,
    author: 'Ana',
    at: new Date(ONSET - minutesBefore * 60_000).toISOString(),
    minutes_before_onset: minutesBefore,
    paths: kind === 'config' ? ['nginx/checkout.conf'] : ['services/checkout/app.js'],
    source: 'git',
    ...over,
  };
}

export function changesResult(...items: ChangeEvidence[]): CheckResult<ChangeEvidence> {
  return {
    name: 'changes',
    status: items.length ? 'warn' : 'ok',
    summary: 'changes',
    duration_ms: 5,
    evidence: items,
  };
}

/** The engine's verdict on these results, the onset at ONSET. */
export function verdictOf(...results: CheckResult<unknown>[]): Verdict {
  return decide({
    service: 'checkout',
    incident: null,
    results: results as CheckResult[],
    durationMs: 10,
    onsetAt: ONSET,
  });
}

export function ev(...results: CheckResult<unknown>[]): Evidence {
  return collectEvidence(results as CheckResult[]);
}
