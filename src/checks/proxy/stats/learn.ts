import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import type { ProxyStatsConfig } from '../../../playbooks/schema.js';
import { round } from '../../stats.js';
import type { CheckContext } from '../../types.js';
import { emptyUpstreamEvidence, probeTarget, type UpstreamEvidence } from '../../upstream/check.js';
import { authHeaders, remoteFailure, shownUrl } from '../remote.js';
import { STATS_READERS } from './registry.js';
import type { BackendView, StatsSnapshot, UpstreamFailure, UpstreamView } from './types.js';

/** The proxy's view of one upstream, beside what gatewatch makes of it; `rates` per second between the reads. */
export type ProxyView = Omit<UpstreamView, 'address'> & { rates: Record<string, number> };

/** An upstream learned from the proxy, as upstream evidence (which fails, how), with the proxy's view. */
export type LearnedUpstream = UpstreamEvidence & { proxy_view: ProxyView };

export interface ProxyStatsSummary {
  /** Which proxy's stats: haproxy, caddy, envoy, traefik. */
  proxy: ProxyStatsConfig['kind'];
  url: string;
  backend: string | null;
  /** Time between the two reads the rates come from. */
  interval_ms: number;
  /** Every upstream in rotation the proxy names (servers in maintenance are left out). */
  upstreams: LearnedUpstream[];
  /** Upstreams the proxy keeps in maintenance, by name: out of rotation on purpose. */
  in_maintenance: string[];
  backends: (BackendView & { rates: Record<string, number> })[];
  bytes_read: number;
  /** An answer was cut at max_bytes: upstreams past the cut are missing. */
  truncated: boolean;
  error: string | null;
}

/** Any 1xx-4xx answer shows the process is up and speaking HTTP; only 5xx and no answer are failures. */
const ANSWERED = Array.from({ length: 400 }, (_, i) => 100 + i);
/** Learned upstreams probed at most: a proxy may name hundreds. */
const MAX_PROBES = 16;
/** A probe of a learned upstream only tells how it fails, so it gets at most this long. */
const PROBE_TIMEOUT_MS = 1500;

function hostAndPort(address: string | null, name: string): { host: string; port: number } {
  const m = address ? /^\[?([^\]]+?)\]?:(\d+)$/.exec(address) : null;
  return m?.[1] && m[2] ? { host: m[1], port: Number(m[2]) } : { host: address ?? name, port: 0 };
}

function ratesBetween(before: Record<string, number>, after: Record<string, number>, ms: number) {
  const rates: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const prev = before[k];
    // A counter that went down was reset by a reload: no rate from that pair.
    if (prev !== undefined && v >= prev && ms > 0) rates[k] = round(((v - prev) * 1000) / ms, 2);
  }
  return rates;
}

/** Share of an upstream's requests between the reads that must fail before its counters alone say it fails. */
const FAILING_SHARE = 0.5;

/**
 * Counters rising between the reads tell how an upstream the proxy still calls up
 * fails now, once failures are a real share of its requests (HAProxy `stot`, Envoy
 * `rq_total`): a stray error among thousands of answers is not a failing upstream.
 */
function failureNow(v: UpstreamView, rates: Record<string, number>): UpstreamFailure | null {
  if (v.failure || v.state !== 'up') return v.failure;
  const requests = rates.stot ?? rates.rq_total;
  const failing = (errors: number | undefined) =>
    (errors ?? 0) > 0 && requests !== undefined && (errors ?? 0) >= requests * FAILING_SHARE;
  if (failing(rates.eresp)) return 'reset';
  if (failing(rates.econ) || failing(rates.cx_connect_fail)) return 'unhealthy';
  if (failing(rates.rq_timeout)) return 'timeout';
  return null;
}

/**
 * A server down at both reads whose second read does not say how (HAProxy's Prometheus
 * exporter shows no check result while a check is in progress, more often on a busy
 * host) fails the way the first read said.
 */
function howItFailed(view: ProxyView, before: UpstreamView | undefined): ProxyView {
  if (view.state !== 'down' || view.failure !== 'unhealthy') return view;
  if (before?.state !== 'down' || !before.failure || before.failure === 'unhealthy') return view;
  return {
    ...view,
    failure: before.failure,
    detail: `${before.detail} (at the first read; ${view.detail} at the second)`,
  };
}

function asEvidence(
  view: ProxyView,
  address: string | null,
  probe: UpstreamEvidence | undefined,
): LearnedUpstream {
  const { host, port } = hostAndPort(address, view.name);
  const target = address
    ? `${view.backend ? `${view.backend}/` : ''}${view.name} (${address})`
    : `${view.backend ?? ''}/${view.name}`;
  const base: LearnedUpstream = {
    ...emptyUpstreamEvidence(target, host, port, 'target'),
    addresses: /^[\d.]+$|:/.test(host) ? [host] : [],
    proxy_view: view,
  };
  const said = `the proxy says: ${view.detail}`;
  // The proxy's vantage point wins: it is what the proxy itself meets on every request.
  const fail = (outcome: UpstreamEvidence['outcome'], connected: boolean): LearnedUpstream => ({
    ...base,
    outcome,
    status: 'fail',
    // One observation: the proxy's own last check (or its counters), not a probe of ours.
    probes: 1,
    failures: 1,
    outcomes: { [outcome]: 1 },
    connect_ms: connected ? (view.gauges.check_duration ?? 0) : null,
    error: said,
  });
  switch (view.failure) {
    case 'refused':
      return fail('refused', false);
    case 'connect_timeout':
      return fail('timeout', false);
    case 'timeout':
      return fail('timeout', true);
    case 'reset':
      return fail('reset', true);
    case 'http_5xx':
      return fail('http_5xx', true);
    case 'queue_full':
      return { ...base, status: 'warn', error: `queue full: ${said}` };
    case 'unhealthy':
      if (!probe)
        return {
          ...fail('error', true),
          error: `${said}; it does not say how, and gatewatch cannot probe it`,
        };
      if (probe.status === 'ok')
        return {
          ...base,
          ...probe,
          target: base.target,
          outcome: 'error',
          status: 'warn',
          error: `${said}, yet it answers gatewatch's probe`,
          proxy_view: view,
        };
      return {
        ...base,
        ...probe,
        target: base.target,
        error: `${said}; probed: ${probe.error ?? probe.outcome}`,
        proxy_view: view,
      };
    default:
      return probe ? { ...base, ...probe, target: base.target, proxy_view: view } : base;
  }
}

/** The learned upstreams gatewatch cannot learn "how" for from the proxy, probed from here. */
async function probeLearned(
  views: { address: string | null; view: ProxyView }[],
  saysHow: boolean,
  timeoutMs: number,
  ctx: CheckContext,
): Promise<Map<string, UpstreamEvidence>> {
  const dispatcher = new Agent({ connect: { timeout: timeoutMs }, keepAliveTimeout: 1, pipelining: 0 });
  const config = {
    targets: [],
    probes: 1,
    timeout_ms: Math.min(timeoutMs, PROBE_TIMEOUT_MS),
    tls_insecure: false,
    expect_status: ANSWERED,
  };
  try {
    const wanted = views
      .filter(
        ({ address, view }) =>
          address && (!saysHow || view.failure === 'unhealthy' || view.state === 'unknown'),
      )
      .slice(0, MAX_PROBES);
    const probed = await Promise.all(
      wanted.map(
        async ({ address, view }) =>
          [keyOf(view), await probeTarget(`http://${address}/`, config, ctx, dispatcher)] as const,
      ),
    );
    return new Map(probed);
  } finally {
    dispatcher.destroy().catch(() => {});
  }
}

function keyOf(v: { backend?: string | null; name: string }): string {
  return `${v.backend ?? ''}/${v.name}`;
}

/** The two reads side by side: rates, how each upstream fails, and probes where the proxy cannot say. */
async function compare(
  first: StatsSnapshot,
  second: StatsSnapshot,
  ms: number,
  timeoutMs: number,
  ctx: CheckContext,
): Promise<Omit<ProxyStatsSummary, 'proxy' | 'url' | 'backend' | 'error'>> {
  const earlier = new Map(first.upstreams.map((u) => [keyOf(u), u]));
  const views = second.upstreams
    .filter((u) => u.state !== 'maint')
    .map(({ address, ...u }) => {
      const before = earlier.get(keyOf(u));
      const rates = ratesBetween(before?.counters ?? {}, u.counters, ms);
      const view: ProxyView = { ...u, rates, failure: failureNow({ address, ...u }, rates) };
      return { address, view: howItFailed(view, before) };
    });
  const probes = await probeLearned(views, second.says_how, timeoutMs, ctx);
  const firstBackends = new Map(first.backends.map((b) => [b.name, b]));
  return {
    interval_ms: Math.round(ms),
    upstreams: views.map(({ address, view }) => asEvidence(view, address, probes.get(keyOf(view)))),
    in_maintenance: second.upstreams.filter((u) => u.state === 'maint').map((u) => u.name),
    backends: second.backends.map((b) => ({
      ...b,
      rates: ratesBetween(firstBackends.get(b.name)?.counters ?? {}, b.counters, ms),
    })),
    bytes_read: first.bytes + second.bytes,
    truncated: first.truncated || second.truncated,
  };
}

/**
 * Reads the proxy's stats twice, `meanwhile` running between the reads (the
 * samples through the proxy, so its counters see them), turns each upstream into
 * upstream evidence — which fails and how, from the proxy's own view — and probes
 * the learned addresses the proxy cannot say more about. Never throws: a proxy
 * whose stats cannot be read gives a summary with `error` set.
 */
export async function learnFromProxy<T>(
  config: ProxyStatsConfig,
  timeoutMs: number,
  ctx: CheckContext,
  meanwhile: () => Promise<T>,
): Promise<{ stats: ProxyStatsSummary; meanwhile: T }> {
  const read = STATS_READERS[config.kind];
  const base = { proxy: config.kind, url: shownUrl(config.url), backend: config.backend ?? null };
  const failed = (err: unknown): ProxyStatsSummary => ({
    ...base,
    interval_ms: 0,
    upstreams: [],
    in_maintenance: [],
    backends: [],
    bytes_read: 0,
    truncated: false,
    error: `${config.kind} stats unreadable: ${remoteFailure(err, timeoutMs)}`,
  });
  let req: Parameters<typeof read>[0];
  let first: StatsSnapshot;
  try {
    req = { config, headers: authHeaders(config, ctx.env), signal: ctx.signal, timeoutMs };
    first = await read(req);
  } catch (err) {
    return { stats: failed(err), meanwhile: await meanwhile() };
  }
  const firstAt = performance.now();
  const [during] = await Promise.all([
    meanwhile(),
    // An abort ends the wait early; the second read then fails on the same signal.
    sleep(config.sample_interval_ms, undefined, { signal: ctx.signal }).catch(() => {}),
  ]);
  try {
    const second = await read(req);
    const ms = performance.now() - firstAt;
    return {
      stats: { ...base, ...(await compare(first, second, ms, timeoutMs, ctx)), error: null },
      meanwhile: during,
    };
  } catch (err) {
    return { stats: failed(err), meanwhile: during };
  }
}
