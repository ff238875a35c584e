import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { CheckName, ChecksConfig } from '../playbooks/schema.js';
import type { ChangeEvent, ChangeEventReader } from '../store/change-events.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'error' | 'skipped';

/** What a check hands back; the runner adds its name and duration. */
export interface CheckOutput<E = unknown> {
  status: CheckStatus;
  summary: string;
  evidence: E[];
}

/** One entry of the verdict's `checks` array, exactly as the contract shows it. */
export interface CheckResult<E = unknown> extends CheckOutput<E> {
  name: CheckName;
  duration_ms: number;
}

export interface CheckContext {
  service: string;
  signal: AbortSignal;
  log: Logger;
  /** Where `*_env` names are looked up; secrets are read here and never copied into output. */
  env: Readonly<Record<string, string | undefined>>;
  now: () => number;
  /** When the 502s began (the alert's start); the changes window ends here. */
  onsetAt: number;
  /** Per-check time budget, for checks that size their own probes. */
  timeoutMs: number;
  changeEvents?: ChangeEventReader;
  /** Present when a Redis is configured: checks may remember state between runs. */
  redis?: Redis | Cluster;
  keyPrefix?: string;
}

export interface Check<N extends CheckName = CheckName, E = unknown> {
  name: N;
  run(config: NonNullable<ChecksConfig[N]>, ctx: CheckContext): Promise<CheckOutput<E>>;
}

export function worstStatus(statuses: readonly CheckStatus[]): CheckStatus {
  const order: CheckStatus[] = ['error', 'fail', 'warn', 'ok', 'skipped'];
  for (const s of order) if (statuses.includes(s)) return s;
  return 'skipped';
}

export type { ChangeEvent, ChangeEventReader };
