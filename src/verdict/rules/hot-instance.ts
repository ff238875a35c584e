import { fleetLoad } from '../capacity.js';
import { percent } from '../evidence.js';
import type { Rule } from '../types.js';
import { hotList } from './upstream-saturated.js';

/**
 * Some instances run hot while the fleet's mean is under the target: the fleet
 * has room, so scaling up is not the answer. Traffic is unbalanced or one
 * instance is stuck (a runaway loop, a GC storm): a person must look.
 */
export const hotInstance: Rule = (ev) => {
  const f = fleetLoad(ev);
  if (!f || f.hot.length === 0 || f.mean > f.target) return null;
  return {
    cause: 'unknown',
    confidence: 0.35,
    summary: `Only part of the fleet is hot (${hotList(f)}) while the mean ${f.resource} of ${f.instances} instances is ${percent(f.mean)}, under the ${percent(f.target)} target: not a capacity problem.`,
    actions: [
      ...f.hot.map(
        (r) =>
          `Inspect ${r.instance}: what burns its ${f.resource} (a profile or thread dump, its slowest requests); restart it if it is stuck.`,
      ),
      "Check the balancing: sticky sessions, weights or a hashing key may pile traffic on one instance (nginx: the upstream block's `hash`/`ip_hash`/`weight`).",
      'Re-run the checks while the 502s are happening.',
    ],
  };
};
