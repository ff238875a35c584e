import { fleetLoad, instanceList } from '../capacity.js';
import { percent } from '../evidence.js';
import type { Rule } from '../types.js';

/**
 * Some instances run hot — over the threshold, or many times their peers — while
 * the fleet's mean is under the target: the fleet has room, so scaling up is not
 * the answer. Traffic is unbalanced or one instance is stuck (a runaway loop, a
 * GC storm): a person must look. The outlier test matters on shared hosts,
 * where a runaway process only gets its share of the CPU and can read under the
 * threshold although it burns everything it is given.
 */
export const hotInstance: Rule = (ev) => {
  const f = fleetLoad(ev);
  if (!f || f.mean > f.target) return null;
  const suspects = [...f.hot, ...f.skewed];
  if (suspects.length === 0) return null;
  const peers = f.instances - suspects.length;
  const why = [
    f.hot.length > 0 && `${instanceList(f.hot, f.resource)} over the ${percent(f.threshold)} threshold`,
    f.skewed.length > 0 &&
      `${instanceList(f.skewed, f.resource)} far above ${peers === 1 ? 'its peer' : `its ${peers} peers`}`,
  ]
    .filter(Boolean)
    .join('; ');
  return {
    cause: 'unknown',
    confidence: 0.35,
    summary: `Only part of the fleet is hot (${why}) while the mean ${f.resource} of ${f.instances} instances is ${percent(f.mean)}, under the ${percent(f.target)} target: not a capacity problem.`,
    actions: [
      ...suspects.map(
        (r) =>
          `Inspect ${r.instance}: what burns its ${f.resource} (a profile or thread dump, its slowest requests); restart it if it is stuck.`,
      ),
      "Check the balancing: sticky sessions, weights or a hashing key may pile traffic on one instance (nginx: the upstream block's `hash`/`ip_hash`/`weight`).",
      'Re-run the checks while the 502s are happening.',
    ],
  };
};
