import type { ChangeEvidence } from '../checks/changes/check.js';
import type { DatabaseEvidence } from '../checks/database/check.js';
import type { LoadEvidence } from '../checks/load/check.js';
import type { ProxyEvidence } from '../checks/proxy/check.js';
import type { CheckResult } from '../checks/types.js';
import type { UpstreamEvidence } from '../checks/upstream/check.js';

import type { CauseId } from './causes/index.js';

/** The contract's cause ids, one per module in `causes/` (their registry is `causes/index.ts`). */
export type Cause = CauseId;
export type Recommendation = 'fix' | 'scale-up' | 'investigate' | 'none';

/** Each cause with its recommendation; kept here for the modules that read it from this file. */
export { CAUSES } from './causes/index.js';

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
  /** Narrows which change kinds may be this finding's trigger (default: its cause module's `triggeredBy`). */
  fits?: readonly ChangeKind[];
  /** Capacity the rule measured itself (e.g. replicas from an HPA); else the engine derives it from load. */
  capacity?: Capacity;
}

/** A rule is a plain function of the evidence: a finding when it recognises its cause, else null. */
export type Rule = (ev: Evidence) => Finding | null;
