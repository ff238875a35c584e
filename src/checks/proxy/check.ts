import type { Check, CheckOutput, CheckStatus } from '../types.js';
import { type ProxyLogSummary, readProxyLog } from './log/summary.js';
import { type ProxySampleSummary, sampleProxy } from './sample.js';
import { type LearnedUpstream, learnFromProxy, type ProxyStatsSummary } from './stats/learn.js';

export type { ProxySignature, SignatureKind } from './log/log-patterns.js';
export { SIGNATURES } from './log/log-patterns.js';
export type { ProxyLogSummary, SignatureCount, UpstreamCount } from './log/summary.js';
export type { ProxySampleSummary } from './sample.js';
export type { LearnedUpstream, ProxyStatsSummary, ProxyView } from './stats/learn.js';

export type ProxySampleEvidence = { kind: 'sample' } & ProxySampleSummary;
export type ProxyLogEvidence = { kind: 'log' } & ProxyLogSummary;
export type ProxyStatsEvidence = { kind: 'stats' } & ProxyStatsSummary;
/**
 * At most one of each: what sampling through the proxy saw now, what its log says
 * of the recent past, and the proxy's own view of its upstreams (its stats).
 */
export type ProxyEvidence = ProxySampleEvidence | ProxyLogEvidence | ProxyStatsEvidence;

export function proxySample(evidence: readonly ProxyEvidence[]): ProxySampleEvidence | undefined {
  return evidence.find((e): e is ProxySampleEvidence => e.kind === 'sample');
}

export function proxyLog(evidence: readonly ProxyEvidence[]): ProxyLogEvidence | undefined {
  return evidence.find((e): e is ProxyLogEvidence => e.kind === 'log');
}

export function proxyStats(evidence: readonly ProxyEvidence[]): ProxyStatsEvidence | undefined {
  return evidence.find((e): e is ProxyStatsEvidence => e.kind === 'stats');
}

/** The upstreams the proxy's stats name, as upstream evidence; empty when the stats could not be read. */
export function proxyLearnedTargets(evidence: readonly ProxyEvidence[]): LearnedUpstream[] {
  const stats = proxyStats(evidence);
  return stats && !stats.error ? stats.upstreams : [];
}

function describeSample(s: ProxySampleSummary): string {
  const answers = [
    ...Object.entries(s.statuses).map(([status, n]) => `${status}×${n}`),
    ...Object.entries(s.no_answer).map(([outcome, n]) => `${outcome}×${n}`),
  ].join(', ');
  if (s.gateway_errors > 0) return `${s.gateway_errors}/${s.samples} samples got 502/503/504 (${answers})`;
  const unanswered = Object.values(s.no_answer).reduce((a, b) => a + b, 0);
  if (unanswered > 0)
    return `the proxy itself gave no answer to ${unanswered}/${s.samples} samples (${answers})`;
  return `no 502/503/504 in ${s.samples} samples (${answers || 'none ran'})`;
}

function describeLog(l: ProxyLogSummary): string {
  if (l.error) return `error log unreadable: ${l.error}`;
  const future = l.future
    ? `; ${l.future} line${l.future === 1 ? '' : 's'} from the future ignored (is error_log.timezone the proxy host's zone?)`
    : '';
  // Where the lines came from, and what the store left out: a verdict on part of the window says so.
  const from = l.source && l.source !== 'file' ? ` (from ${l.source})` : '';
  const gaps = [l.source !== 'file' && l.truncated_reason, l.partial].filter(Boolean);
  const notes = `${future}${gaps.length ? `; ${gaps.join('; ')}` : ''}`;
  if (l.errors === 0) return `no upstream errors in the log's last ${l.window_minutes} min${from}${notes}`;
  const top = l.signatures.find((s) => s.id === l.dominant);
  const where = top?.upstreams[0] ? ` to ${top.upstreams[0].address}` : '';
  return `${l.errors} upstream errors in the log's last ${l.window_minutes} min${from}, mostly ${l.dominant} (${top?.raw})${where}${notes}`;
}

function describeStats(st: ProxyStatsSummary): string {
  if (st.error) return st.error;
  const where = `${st.proxy}${st.backend ? ` ${st.backend}` : ''}`;
  if (st.upstreams.length === 0) return `${where} names no upstream in rotation`;
  const failing = st.upstreams.filter((u) => u.status !== 'ok');
  const cut = st.truncated ? ' (stats cut at max_bytes: some upstreams may be missing)' : '';
  if (failing.length === 0) return `${where}: all ${st.upstreams.length} upstreams healthy${cut}`;
  const list = failing.map((u) => `${u.target} ${u.outcome === 'ok' ? u.proxy_view.failure : u.outcome}`);
  return `${where}: ${failing.length} of ${st.upstreams.length} upstreams failing (${list.join('; ')})${cut}`;
}

function statusOf(
  sample: ProxySampleSummary | undefined,
  log: ProxyLogSummary | undefined,
  stats?: ProxyStatsSummary,
): CheckStatus {
  if (sample) {
    const answered = Object.values(sample.statuses).reduce((a, b) => a + b, 0);
    // Gateway errors, or a proxy that answers nothing at all: either way users are failing now.
    if (sample.gateway_errors > 0 || (sample.samples > 0 && answered === 0)) return 'fail';
  }
  const failing = stats && !stats.error ? stats.upstreams.filter((u) => u.status !== 'ok').length : 0;
  if (stats && failing > 0) return failing === stats.upstreams.length ? 'fail' : 'warn';
  if (log && !log.error && log.errors > 0) return 'warn';
  // Nothing sampled and no remote evidence readable: the check could not see the proxy at all.
  if (!sample && (log?.error || !log) && (stats?.error || !stats)) return 'error';
  return 'ok';
}

export const proxyCheck: Check<'proxy', ProxyEvidence> = {
  name: 'proxy',
  async run(config, ctx): Promise<CheckOutput<ProxyEvidence>> {
    if (!config.url && !config.error_log && !config.stats)
      return { status: 'skipped', summary: 'no proxy url, error_log or stats configured', evidence: [] };
    const timeoutMs = Math.min(config.timeout_ms, ctx.timeoutMs);
    // The log is read after sampling, so it holds the lines our own samples caused:
    // those name the upstream the proxy really dials for this url.
    const sampleThenLog = async () => {
      const sample = config.url
        ? await sampleProxy({ url: config.url, samples: config.samples, timeoutMs, signal: ctx.signal })
        : undefined;
      const log = config.error_log
        ? await readProxyLog({
            config: config.error_log,
            env: ctx.env,
            signal: ctx.signal,
            timeoutMs,
            now: ctx.now(),
          })
        : undefined;
      return { sample, log };
    };
    // With stats, sampling runs between their two reads: the counters then see our samples.
    const { stats, meanwhile } = config.stats
      ? await learnFromProxy(config.stats, timeoutMs, ctx, sampleThenLog)
      : { stats: undefined, meanwhile: await sampleThenLog() };
    const { sample, log } = meanwhile;
    if (log?.error)
      ctx.log.warn({ source: log.source, path: log.path, err: log.error }, 'proxy error log unreadable');
    if (stats?.error)
      ctx.log.warn({ proxy: stats.proxy, url: stats.url, err: stats.error }, 'proxy stats unreadable');
    const evidence: ProxyEvidence[] = [
      ...(sample ? [{ kind: 'sample' as const, ...sample }] : []),
      ...(log ? [{ kind: 'log' as const, ...log }] : []),
      ...(stats ? [{ kind: 'stats' as const, ...stats }] : []),
    ];
    const summary = [sample && describeSample(sample), log && describeLog(log), stats && describeStats(stats)]
      .filter(Boolean)
      .join('; ');
    return { status: statusOf(sample, log, stats), summary, evidence };
  },
};
