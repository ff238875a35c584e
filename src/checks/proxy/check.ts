import type { Check, CheckOutput, CheckStatus } from '../types.js';
import { type ProxyLogSummary, readProxyLog } from './log/summary.js';
import { type ProxySampleSummary, sampleProxy } from './sample.js';

export type { ProxySignature, SignatureKind } from './log/log-patterns.js';
export { SIGNATURES } from './log/log-patterns.js';
export type { ProxyLogSummary, SignatureCount, UpstreamCount } from './log/summary.js';
export type { ProxySampleSummary } from './sample.js';

export type ProxySampleEvidence = { kind: 'sample' } & ProxySampleSummary;
export type ProxyLogEvidence = { kind: 'log' } & ProxyLogSummary;
/** At most one of each: what sampling through the proxy saw now, and what its log says of the recent past. */
export type ProxyEvidence = ProxySampleEvidence | ProxyLogEvidence;

export function proxySample(evidence: readonly ProxyEvidence[]): ProxySampleEvidence | undefined {
  return evidence.find((e): e is ProxySampleEvidence => e.kind === 'sample');
}

export function proxyLog(evidence: readonly ProxyEvidence[]): ProxyLogEvidence | undefined {
  return evidence.find((e): e is ProxyLogEvidence => e.kind === 'log');
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
  if (l.errors === 0) return `no upstream errors in the log's last ${l.window_minutes} min${future}`;
  const top = l.signatures.find((s) => s.id === l.dominant);
  const where = top?.upstreams[0] ? ` to ${top.upstreams[0].address}` : '';
  return `${l.errors} upstream errors in the log's last ${l.window_minutes} min, mostly ${l.dominant} (${top?.raw})${where}${future}`;
}

function statusOf(sample: ProxySampleSummary | undefined, log: ProxyLogSummary | undefined): CheckStatus {
  if (sample) {
    const answered = Object.values(sample.statuses).reduce((a, b) => a + b, 0);
    // Gateway errors, or a proxy that answers nothing at all: either way users are failing now.
    if (sample.gateway_errors > 0 || (sample.samples > 0 && answered === 0)) return 'fail';
  }
  if (log && !log.error && log.errors > 0) return 'warn';
  if (!sample && log?.error) return 'error';
  return 'ok';
}

export const proxyCheck: Check<'proxy', ProxyEvidence> = {
  name: 'proxy',
  async run(config, ctx): Promise<CheckOutput<ProxyEvidence>> {
    if (!config.url && !config.error_log)
      return { status: 'skipped', summary: 'no proxy url or error_log configured', evidence: [] };
    // The log is read after sampling, so it holds the lines our own samples caused:
    // those name the upstream the proxy really dials for this url.
    const sample = config.url
      ? await sampleProxy({
          url: config.url,
          samples: config.samples,
          timeoutMs: Math.min(config.timeout_ms, ctx.timeoutMs),
          signal: ctx.signal,
        })
      : undefined;
    const log = config.error_log
      ? await readProxyLog({
          path: config.error_log.path,
          format: config.error_log.format,
          maxBytes: config.error_log.max_bytes,
          windowMinutes: config.error_log.window_minutes,
          now: ctx.now(),
          timeZone: config.error_log.timezone,
        })
      : undefined;
    if (log?.error) ctx.log.warn({ path: log.path, err: log.error }, 'proxy error log unreadable');
    const evidence: ProxyEvidence[] = [
      ...(sample ? [{ kind: 'sample' as const, ...sample }] : []),
      ...(log ? [{ kind: 'log' as const, ...log }] : []),
    ];
    const summary = [sample && describeSample(sample), log && describeLog(log)].filter(Boolean).join('; ');
    return { status: statusOf(sample, log), summary, evidence };
  },
};
