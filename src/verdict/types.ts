import type { ChangeEvidence } from '../checks/changes/check.js';
import type { DatabaseEvidence } from '../checks/database/check.js';
import type { LoadEvidence } from '../checks/load/check.js';
import type { ProxyEvidence } from '../checks/proxy/check.js';
import type { CheckResult } from '../checks/types.js';
import type { UpstreamEvidence } from '../checks/upstream/check.js';

export const CAUSES = {
  upstream_down: 'fix',
  upstream_partial: 'fix',
  proxy_misrouted: 'fix',
  dns_failure: 'fix',
  upstream_crash: 'fix',
  upstream_timeout: 'fix',
  upstream_saturated: 'scale-up',
  db_unavailable: 'fix',
  db_slow: 'fix',
  db_saturated: 'scale-up',
  memory_leak: 'fix',
  deploy_drain: 'fix',
  recovered: 'none',
  unknown: 'investigate',
} as const;

export type Cause = keyof typeof CAUSES;
export type Recommendation = (typeof CAUSES)[Cause];

export type ChangeKind = 'deploy' | 'config';

export interface Trigger {
  kind: ChangeKind;
  ref: string;
  summary: string;
  author: string | null;
  at: string;
  minutes_before_onset: number;
}

export interface Capacity {
  resource: string;
  instances: number;
  utilisation: number;
  target_utilisation: number;
  suggested_instances: number;
}

/** The contract's verdict object: printed by `check --json`, carried as Slack message metadata. */
export interface Verdict {
  service: string;
  incident: string | null;
  recommendation: Recommendation;
  cause: Cause;
  confidence: number;
  summary: string;
  actions: string[];
  trigger: Trigger | null;
  capacity: Capacity | null;
  checks: CheckResult[];
  duration_ms: number;
}

/** The checks' results, looked up by name, as the rules read them. */
export interface Evidence {
  results: readonly CheckResult[];
  upstream?: CheckResult<UpstreamEvidence>;
  proxy?: CheckResult<ProxyEvidence>;
  load?: CheckResult<LoadEvidence>;
  database?: CheckResult<DatabaseEvidence>;
  changes?: CheckResult<ChangeEvidence>;
}

/** What a rule concludes; the engine adds recommendation, trigger, capacity and bookkeeping. */
export interface Finding {
  cause: Cause;
  confidence: number;
  summary: string;
  actions: string[];
  /** Narrows which change kinds may be this finding's trigger (default: the cause's table in trigger.ts). */
  fits?: readonly ChangeKind[];
  /** Capacity the rule measured itself (e.g. replicas from an HPA); else the engine derives it from load. */
  capacity?: Capacity;
}

/** A rule is a plain function of the evidence: a finding when it recognises its cause, else null. */
export type Rule = (ev: Evidence) => Finding | null;
