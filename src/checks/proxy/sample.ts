import { Agent, request } from 'undici';
import { classifyNetworkError, type ProbeOutcome } from '../net-errors.js';
import { percentile, round } from '../stats.js';

/** The statuses a proxy gives when its upstream failed it. */
export const GATEWAY_STATUSES: readonly number[] = [502, 503, 504];

export interface ProxySampleSummary {
  url: string;
  /** The samples' method, when not GET. */
  method?: string;
  samples: number;
  /** How many samples got 502, 503 or 504. */
  gateway_errors: number;
  /** gateway_errors / samples, 0..1. */
  gateway_error_share: number;
  /** Count per HTTP status, keyed by the status ("200", "502"). */
  statuses: Record<string, number>;
  /** Samples that got no HTTP answer at all, by how they ended (the proxy itself is down or hangs). */
  no_answer: Partial<Record<ProbeOutcome, number>>;
  /** The `server` header of the first gateway error: nginx, envoy, haproxy name themselves there. */
  server: string | null;
  p50_ms: number | null;
  p95_ms: number | null;
}

interface Sample {
  status?: number;
  outcome?: ProbeOutcome;
  server?: string;
  ms: number;
}

/** What each sample sends: a method, extra headers, a body. */
export interface SampleRequest {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  headers?: Record<string, string>;
  body?: string;
}

async function sampleOnce(
  url: string,
  dispatcher: Agent,
  timeoutMs: number,
  signal: AbortSignal,
  req: SampleRequest,
) {
  const start = performance.now();
  try {
    const res = await request(url, {
      method: req.method ?? 'GET',
      dispatcher,
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      reset: true,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: { ...req.headers, 'user-agent': 'gatewatch/proxy-check' },
      ...(req.body !== undefined ? { body: req.body } : {}),
    });
    await res.body.dump({ limit: 64 * 1024 });
    const server = res.headers.server;
    return {
      status: res.statusCode,
      server: typeof server === 'string' ? server : undefined,
      ms: performance.now() - start,
    } satisfies Sample;
  } catch (err) {
    return { outcome: classifyNetworkError(err), ms: performance.now() - start } satisfies Sample;
  }
}

/**
 * Requests `url` through the proxy `samples` times, a few at once, and counts
 * the answers: the share of 502/503/504 says whether the incident is happening now.
 */
export async function sampleProxy(opts: {
  url: string;
  samples: number;
  timeoutMs: number;
  signal: AbortSignal;
  concurrency?: number;
  request?: SampleRequest;
}): Promise<ProxySampleSummary> {
  const dispatcher = new Agent({ connect: { timeout: opts.timeoutMs }, keepAliveTimeout: 1, pipelining: 0 });
  const results: Sample[] = [];
  try {
    let next = 0;
    const lane = async () => {
      while (next < opts.samples && !opts.signal.aborted) {
        next++;
        results.push(await sampleOnce(opts.url, dispatcher, opts.timeoutMs, opts.signal, opts.request ?? {}));
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 5, opts.samples) }, lane));
  } finally {
    dispatcher.destroy().catch(() => {});
  }
  const statuses: Record<string, number> = {};
  const noAnswer: Partial<Record<ProbeOutcome, number>> = {};
  for (const r of results) {
    if (r.status !== undefined) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    else if (r.outcome) noAnswer[r.outcome] = (noAnswer[r.outcome] ?? 0) + 1;
  }
  const gateway = results.filter((r) => r.status !== undefined && GATEWAY_STATUSES.includes(r.status));
  const answered = results.filter((r) => r.status !== undefined).map((r) => r.ms);
  const p50 = percentile(answered, 50);
  const p95 = percentile(answered, 95);
  return {
    url: opts.url,
    ...(opts.request?.method && opts.request.method !== 'GET' ? { method: opts.request.method } : {}),
    samples: results.length,
    gateway_errors: gateway.length,
    gateway_error_share: results.length === 0 ? 0 : round(gateway.length / results.length, 3),
    statuses,
    no_answer: noAnswer,
    server: gateway.find((r) => r.server)?.server ?? null,
    p50_ms: p50 === null ? null : round(p50),
    p95_ms: p95 === null ? null : round(p95),
  };
}
