import type { CheckResult } from '../checks/types.js';
import { capacityAction, capacityFor } from './capacity.js';
import { collectEvidence, database } from './evidence.js';
import { RULES } from './rules/index.js';
import { pickTrigger, rollbackAction } from './trigger.js';
import { CAUSES, type Finding, type Rule, type Verdict } from './types.js';

function unknownFinding(results: readonly CheckResult[]): Finding {
  const errored = results.filter((r) => r.status === 'error');
  const failing = results.filter((r) => (r.status === 'fail' || r.status === 'warn') && r.name !== 'changes');
  const summary =
    results.length === 0
      ? 'The playbook runs no checks, so there is no evidence to judge by.'
      : failing.length > 0
        ? `The evidence does not point to one cause: ${failing.map((r) => `${r.name}: ${r.summary}`).join('; ')}.`
        : `The checks could not gather enough evidence${errored.length ? ` (${errored.map((r) => r.name).join(', ')} errored)` : ''}.`;
  return {
    cause: 'unknown',
    confidence: 0.2,
    summary,
    actions: [
      ...errored.map((r) => `Fix the ${r.name} check so it can run: ${r.summary}`),
      "Look at the proxy's error log and the upstreams' logs for the minutes around the alert.",
      'Re-run the checks while the 502s are happening.',
    ],
  };
}

/** Turns check results into the contract's verdict. Pure: same results in, same verdict out. */
export function decide(args: {
  service: string;
  incident: string | null;
  results: CheckResult[];
  durationMs: number;
  /** When the 502s began: changes are correlated against it. Defaults to the end of the run. */
  onsetAt?: number;
  /** The playbook's changes window; without it the changes check's own window bounds the trigger. */
  windowMinutes?: number;
  rules?: readonly Rule[];
}): Verdict {
  const evidence = collectEvidence(args.results);
  let finding: Finding | null = null;
  for (const rule of args.rules ?? RULES) {
    finding = rule(evidence);
    if (finding) break;
  }
  const f = finding ?? unknownFinding(args.results);
  const onsetAt = args.onsetAt ?? Date.now();
  const trigger = pickTrigger(f, evidence, onsetAt, args.windowMinutes);
  const capacity = CAUSES[f.cause] === 'scale-up' ? (f.capacity ?? capacityFor(f, evidence)) : null;
  const actions = [
    ...(trigger ? [rollbackAction(trigger)] : []),
    ...(capacity ? [capacityAction(capacity, database(evidence))] : []),
    ...f.actions,
  ];
  return {
    service: args.service,
    incident: args.incident,
    recommendation: CAUSES[f.cause],
    cause: f.cause,
    confidence: Math.round(f.confidence * 100) / 100,
    summary: f.summary,
    actions,
    trigger,
    capacity,
    checks: args.results,
    duration_ms: Math.round(args.durationMs),
  };
}
