import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { Agent } from 'undici';
import type { UpstreamCheckConfig } from '../../playbooks/schema.js';
import { connectOnce } from '../connect.js';
import type { ProbeOutcome } from '../net-errors.js';
import { percentile, round } from '../stats.js';
import type { Check, CheckContext, CheckOutput, CheckStatus } from '../types.js';
import { httpProbe, type Probe } from './http.js';

/** How one resolved address of a target took a TCP connection. */
export interface AddressProbe {
  address: string;
  outcome: ProbeOutcome;
  connect_ms: number | null;
  error: string | null;
}

export interface UpstreamEvidence {
  target: string;
  /** A host name or address; for a unix socket target, its path. */
  host: string;
  /** 0 for a unix socket target. */
  port: number;
  /** `dependency` for the app's own downstream services (playbook `dependencies`), else `target`. */
  role?: 'target' | 'dependency';
  /** The outcome most probes had; `ok` only when every probe succeeded. */
  outcome: ProbeOutcome;
  status: CheckStatus;
  probes: number;
  failures: number;
  outcomes: Partial<Record<ProbeOutcome, number>>;
  http_status: number | null;
  addresses: string[];
  dns_ms: number | null;
  connect_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  /** Each resolved address, connected to on its own (a name may hide one dead address among good ones). */
  by_address?: AddressProbe[];
  /** The idle keep-alive timeout the target advertises (`Keep-Alive: timeout=N`), in seconds. */
  keep_alive_s?: number | null;
  /** The largest response header block seen, in bytes (a proxy rejects headers over its buffer). */
  header_bytes?: number | null;
  error: string | null;
}

function portOf(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

async function resolve(host: string): Promise<{ addresses: string[]; ms: number }> {
  const start = performance.now();
  if (isIP(host)) return { addresses: [host], ms: 0 };
  const found = await lookup(host, { all: true });
  return { addresses: found.map((a) => a.address), ms: performance.now() - start };
}

function mostCommon(probes: readonly Probe[]): ProbeOutcome {
  const counts = new Map<ProbeOutcome, number>();
  for (const p of probes) if (p.outcome !== 'ok') counts.set(p.outcome, (counts.get(p.outcome) ?? 0) + 1);
  let best: ProbeOutcome = 'ok';
  let bestCount = 0;
  for (const [k, v] of counts)
    if (v > bestCount) {
      best = k;
      bestCount = v;
    }
  return best;
}

function summarise(base: UpstreamEvidence, probes: readonly Probe[]): UpstreamEvidence {
  const failures = probes.filter((p) => p.outcome !== 'ok');
  const outcomes: Partial<Record<ProbeOutcome, number>> = {};
  for (const p of probes) outcomes[p.outcome] = (outcomes[p.outcome] ?? 0) + 1;
  const okTimes = probes.filter((p) => p.outcome === 'ok').map((p) => p.ms);
  const status: CheckStatus =
    failures.length === 0 ? 'ok' : failures.length === probes.length ? 'fail' : 'warn';
  const lastStatus = [...probes].reverse().find((p) => p.httpStatus !== undefined)?.httpStatus ?? null;
  const p50 = percentile(okTimes, 50);
  const p95 = percentile(okTimes, 95);
  const answered = probes.filter((p) => p.httpStatus !== undefined);
  const keepAlive = answered.map((p) => p.keepAliveS).find((k) => k !== undefined && k !== null);
  return {
    ...base,
    outcome: mostCommon(probes),
    status,
    probes: probes.length,
    failures: failures.length,
    outcomes,
    http_status: lastStatus,
    p50_ms: p50 === null ? null : round(p50),
    p95_ms: p95 === null ? null : round(p95),
    keep_alive_s: keepAlive ?? null,
    header_bytes: answered.length ? Math.max(...answered.map((p) => p.headerBytes ?? 0)) : null,
    error: failures[0]?.error ?? (failures[0]?.httpStatus ? `HTTP ${failures[0].httpStatus}` : null),
  };
}

/** A target's evidence before any probe: healthy until a probe (or the proxy's own view) says otherwise. */
export function emptyUpstreamEvidence(
  target: string,
  host: string,
  port: number,
  role: UpstreamEvidence['role'],
) {
  return {
    target,
    host,
    port,
    role,
    outcome: 'ok',
    status: 'ok',
    probes: 0,
    failures: 0,
    outcomes: {},
    http_status: null,
    addresses: [],
    dns_ms: null,
    connect_ms: null,
    p50_ms: null,
    p95_ms: null,
    error: null,
  } satisfies UpstreamEvidence;
}

/** A unix socket target: can a connection be made (refused, or EAGAIN when the backlog is full)? */
async function probeSocket(target: string, config: UpstreamCheckConfig, ctx: CheckContext) {
  const path = target.slice('unix:'.length);
  const probes = await Promise.all(
    Array.from({ length: config.probes }, () => connectOnce({ path }, config.timeout_ms, ctx.signal)),
  );
  const ok = probes.find((p) => p.outcome === 'ok');
  return summarise(
    { ...emptyUpstreamEvidence(target, path, 0, 'target'), connect_ms: ok ? round(ok.ms) : null },
    probes,
  );
}

/** One target probed as the upstream check does; the upstreams a proxy names are probed with it too. */
export function probeTarget(
  target: string,
  config: UpstreamCheckConfig,
  ctx: CheckContext,
  dispatcher: Agent,
): Promise<UpstreamEvidence> {
  return probeOne(target, 'target', config, ctx, dispatcher);
}

async function probeOne(
  target: string,
  role: UpstreamEvidence['role'],
  config: UpstreamCheckConfig,
  ctx: CheckContext,
  dispatcher: Agent,
): Promise<UpstreamEvidence> {
  if (target.startsWith('unix:')) return probeSocket(target, config, ctx);
  const url = new URL(target);
  const host = hostOf(url);
  const port = portOf(url);
  const base: UpstreamEvidence = emptyUpstreamEvidence(target, host, port, role);
  let addresses: string[];
  try {
    const r = await resolve(host);
    addresses = r.addresses;
    base.addresses = addresses;
    base.dns_ms = round(r.ms);
  } catch (err) {
    return {
      ...base,
      outcome: 'dns',
      status: 'fail',
      probes: 1,
      failures: 1,
      outcomes: { dns: 1 },
      error: `${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    };
  }
  // Every address on its own, all at once: a name may hide a dead address among good ones.
  const connects = await Promise.all(
    addresses.map((a) => connectOnce({ host: a, port }, config.timeout_ms, ctx.signal)),
  );
  base.by_address = addresses.map((address, i) => {
    const c = connects[i]!;
    return {
      address,
      outcome: c.outcome,
      connect_ms: c.outcome === 'ok' ? round(c.ms) : null,
      error: c.error ?? null,
    };
  });
  const firstOk = connects.find((c) => c.outcome === 'ok');
  base.connect_ms = firstOk ? round(firstOk.ms) : null;
  if (!firstOk || url.protocol === 'tcp:') {
    const failed = connects.filter((c) => c.outcome !== 'ok');
    // With some addresses taking connections, the target is reachable but degraded.
    return summarise(base, firstOk ? [firstOk, ...failed] : connects);
  }
  const probes = await Promise.all(
    Array.from({ length: config.probes }, () =>
      httpProbe(target, dispatcher, config.timeout_ms, ctx.signal, config.expect_status),
    ),
  );
  const e = summarise(base, probes);
  const deadAddress = base.by_address.find((a) => a.outcome !== 'ok');
  if (e.status === 'ok' && deadAddress)
    return {
      ...e,
      status: 'warn',
      error: `${deadAddress.address}: ${deadAddress.error ?? deadAddress.outcome}`,
    };
  return e;
}

function describe(e: UpstreamEvidence): string {
  const name = e.port === 0 ? `unix:${e.host}` : `${e.host}:${e.port}`;
  if (e.outcome === 'ok' && e.status !== 'ok') return `${name} ok but one address fails (${e.error})`;
  if (e.outcome === 'ok') return `${name} ok (p95 ${e.p95_ms ?? e.connect_ms} ms)`;
  const what: Record<ProbeOutcome, string> = {
    ok: 'ok',
    refused: 'refuses connections',
    reset: 'resets connections',
    timeout: 'times out',
    dns: 'does not resolve',
    tls: 'fails the TLS handshake',
    busy: 'has a full listen backlog (EAGAIN)',
    http_5xx: `answers HTTP ${e.http_status}`,
    http_4xx: `answers HTTP ${e.http_status}`,
    error: 'fails',
  };
  return `${name} ${what[e.outcome]} (${e.failures}/${e.probes} probes)`;
}

export const upstreamCheck: Check<'upstream', UpstreamEvidence> = {
  name: 'upstream',
  async run(config, ctx): Promise<CheckOutput<UpstreamEvidence>> {
    const ca = config.ca_file ? await readFile(config.ca_file, 'utf8') : undefined;
    const dispatcher = new Agent({
      connect: {
        timeout: config.timeout_ms,
        rejectUnauthorized: !config.tls_insecure,
        ...(ca ? { ca } : {}),
      },
      // One request per connection at a time, kept alive (pipelining 0 would send `Connection: close`
      // and hide the upstream's own keep-alive timeout), closed as soon as it idles.
      keepAliveTimeout: 1,
      pipelining: 1,
      allowH2: config.http2 ?? false,
    });
    try {
      const all = [
        ...config.targets.map((t) => ({ t, role: 'target' as const })),
        ...(config.dependencies ?? []).map((t) => ({ t, role: 'dependency' as const })),
      ];
      const evidence = await Promise.all(
        all.map(({ t, role }) => probeOne(t, role, config, ctx, dispatcher)),
      );
      const failing = evidence.filter((e) => e.status !== 'ok');
      const dead = evidence.filter((e) => e.status === 'fail');
      const status: CheckStatus = dead.length > 0 ? 'fail' : failing.length > 0 ? 'warn' : 'ok';
      const summary =
        failing.length === 0
          ? `all ${evidence.length} targets healthy`
          : `${dead.length} of ${evidence.length} targets failing: ${failing.map(describe).join('; ')}`;
      return { status, summary, evidence };
    } finally {
      dispatcher.destroy().catch(() => {});
    }
  },
};
