import type { CheckResult } from '../checks/types.js';
import type { UpstreamEvidence } from '../checks/upstream.js';
import type { Evidence } from './types.js';

export function collectEvidence(results: readonly CheckResult[]): Evidence {
  const byName = (name: string) => results.find((r) => r.name === name);
  return {
    results,
    upstream: byName('upstream') as CheckResult<UpstreamEvidence> | undefined,
  };
}

/** Upstream targets that answered nothing useful at all. */
export function deadTargets(ev: Evidence): UpstreamEvidence[] {
  return (ev.upstream?.evidence ?? []).filter((t) => t.status === 'fail');
}

export function hostPort(t: { host: string; port: number }): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}
