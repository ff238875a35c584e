import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import { Agent, request } from 'undici';
import type { UpstreamCheckConfig } from '../../playbooks/schema.js';
import { classifyNetworkError, outcomeForStatus, type ProbeOutcome } from '../net-errors.js';
import { percentile, round } from '../stats.js';
import type { Check, CheckContext, CheckOutput, CheckStatus } from '../types.js';

export interface UpstreamEvidence {
  target: string;
  host: string;
  port: number;
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
  error: string | null;
}

interface Probe {
  outcome: ProbeOutcome;
  ms: number;
  httpStatus?: number;
  error?: string;
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

function tcpConnect(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<Probe> {
  const start = performance.now();
  return new Promise((done) => {
    const socket = new Socket();
    const finish = (probe: Probe) => {
      socket.destroy();
      signal.removeEventListener('abort', onAbort);
      done(probe);
    };
    const onAbort = () => finish({ outcome: 'timeout', ms: performance.now() - start, error: 'aborted' });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(timeoutMs, () =>
      finish({
        outcome: 'timeout',
        ms: performance.now() - start,
        error: `no connection in ${timeoutMs} ms`,
      }),
    );
    socket.once('connect', () => finish({ outcome: 'ok', ms: performance.now() - start }));
    socket.once('error', (err) =>
      finish({ outcome: classifyNetworkError(err), ms: performance.now() - start, error: err.message }),
    );
    socket.connect(port, host);
  });
}

async function httpProbe(
  url: string,
  dispatcher: Agent,
  timeoutMs: number,
  signal: AbortSignal,
  expect: readonly number[] | undefined,
): Promise<Probe> {
  const start = performance.now();
  try {
    const res = await request(url, {
      method: 'GET',
      dispatcher,
      signal,
      reset: true,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: { 'user-agent': 'gatewatch/upstream-check' },
    });
    await res.body.dump({ limit: 64 * 1024 });
    const ms = performance.now() - start;
    const outcome = expect
      ? expect.includes(res.statusCode)
        ? 'ok'
        : res.statusCode >= 500
          ? 'http_5xx'
          : 'http_4xx'
      : outcomeForStatus(res.statusCode);
    return { outcome, ms, httpStatus: res.statusCode };
  } catch (err) {
    return {
      outcome: classifyNetworkError(err),
      ms: performance.now() - start,
      error: (err as Error).message,
    };
  }
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

export async function probeTarget(
  target: string,
  config: UpstreamCheckConfig,
  ctx: CheckContext,
  dispatcher: Agent,
): Promise<UpstreamEvidence> {
  const url = new URL(target);
  const host = hostOf(url);
  const port = portOf(url);
  const base: UpstreamEvidence = {
    target,
    host,
    port,
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
  };
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
  const connect = await tcpConnect(addresses[0] ?? host, port, config.timeout_ms, ctx.signal);
  base.connect_ms = connect.outcome === 'ok' ? round(connect.ms) : null;
  const probes: Probe[] = [];
  if (connect.outcome !== 'ok' || url.protocol === 'tcp:') {
    probes.push(connect);
  } else {
    for (let i = 0; i < config.probes && !ctx.signal.aborted; i++) {
      probes.push(await httpProbe(target, dispatcher, config.timeout_ms, ctx.signal, config.expect_status));
    }
  }
  const failures = probes.filter((p) => p.outcome !== 'ok');
  const outcomes: Partial<Record<ProbeOutcome, number>> = {};
  for (const p of probes) outcomes[p.outcome] = (outcomes[p.outcome] ?? 0) + 1;
  const okTimes = probes.filter((p) => p.outcome === 'ok').map((p) => p.ms);
  const status: CheckStatus =
    failures.length === 0 ? 'ok' : failures.length === probes.length ? 'fail' : 'warn';
  const lastStatus = [...probes].reverse().find((p) => p.httpStatus !== undefined)?.httpStatus ?? null;
  const p50 = percentile(okTimes, 50);
  const p95 = percentile(okTimes, 95);
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
    error: failures[0]?.error ?? (failures[0]?.httpStatus ? `HTTP ${failures[0].httpStatus}` : null),
  };
}

function describe(e: UpstreamEvidence): string {
  if (e.outcome === 'ok') return `${e.host}:${e.port} ok (p95 ${e.p95_ms ?? e.connect_ms} ms)`;
  const what: Record<ProbeOutcome, string> = {
    ok: 'ok',
    refused: 'refuses connections',
    reset: 'resets connections',
    timeout: 'times out',
    dns: 'does not resolve',
    tls: 'fails the TLS handshake',
    http_5xx: `answers HTTP ${e.http_status}`,
    http_4xx: `answers HTTP ${e.http_status}`,
    error: 'fails',
  };
  return `${e.host}:${e.port} ${what[e.outcome]} (${e.failures}/${e.probes} probes)`;
}

export const upstreamCheck: Check<'upstream', UpstreamEvidence> = {
  name: 'upstream',
  async run(config, ctx): Promise<CheckOutput<UpstreamEvidence>> {
    const dispatcher = new Agent({
      connect: { timeout: config.timeout_ms, rejectUnauthorized: !config.tls_insecure },
      keepAliveTimeout: 1,
      pipelining: 0,
    });
    try {
      const evidence = await Promise.all(config.targets.map((t) => probeTarget(t, config, ctx, dispatcher)));
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
