import type { ChangeKind, Recommendation, Rule } from '../types.js';

/**
 * Everything gatewatch knows about one cause, in one place: adding a cause is
 * one such module, one line in the registry (`causes/index.ts`) and its
 * scenario world.
 */
export interface CauseModule<Id extends string = string> {
  /** The contract's cause id. */
  id: Id;
  recommendation: Recommendation;
  /** The cause in the words on-call would use, as the contract defines it. */
  label: string;
  /** Recognises the cause in the evidence; null for `unknown`, the fallback when no rule speaks. */
  rule: Rule | null;
  /**
   * Which kinds of change can cause it, so the newest of them before the onset is
   * the trigger to roll back. Saturation is load, not a change; `recovered` and
   * `unknown` have nothing to roll back.
   */
  triggeredBy: readonly ChangeKind[];
  /** Its colour in the digest chart; never grey (greys are the axes' and the text's). */
  colour: string;
}

/** Keeps the id's literal type so the registry can derive the `Cause` union from its modules. */
export function defineCause<const Id extends string>(m: CauseModule<Id>): CauseModule<Id> {
  return m;
}

export function isCauseModule(entry: CauseModule | Rule): entry is CauseModule {
  return typeof entry !== 'function';
}
