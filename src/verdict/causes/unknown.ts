import { defineCause } from './cause.js';

/**
 * The fallback when no rule recognises a cause, and the answer of the rules that
 * find the evidence in conflict (they say what disagrees). The engine builds its
 * finding from the checks that failed.
 */
export const unknownCause = defineCause({
  id: 'unknown',
  recommendation: 'investigate',
  label: 'The evidence is missing or contradicts itself.',
  rule: null,
  triggeredBy: [],
  colour: '#c5b0d5',
});
