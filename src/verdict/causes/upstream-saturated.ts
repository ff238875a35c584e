import { fleetLoad, instanceList } from '../capacity.js';
import { clamp, gatewayErrorsNow, logCount, percent, targets, troubleSeen } from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/**
 * The fleet as a whole runs over its target utilisation and the path users take
 * fails (slow, timing out, refusing or gateway errors): more instances cure it.
 * A fleet whose mean is under the target is not judged here (see hot-instance).
 */
export const upstreamSaturated: Rule = (ev) => {
  const f = fleetLoad(ev);
  if (!f || f.hot.length === 0 || f.mean <= f.target) return null;
  const seen = troubleSeen(ev);
  const slowTargets = targets(ev).filter((t) => t.status !== 'ok').length;
  const strained = logCount(ev, 'timeout') + logCount(ev, 'capacity') > 0;
  const confidence = clamp(
    (seen === false ? 0.45 : 0.7) +
      (slowTargets > 0 ? 0.1 : 0) +
      (gatewayErrorsNow(ev) ? 0.05 : 0) +
      (strained ? 0.05 : 0),
  );
  return {
    cause: 'upstream_saturated',
    confidence,
    summary: `The upstream fleet is saturated: mean ${f.resource} ${percent(f.mean)} across ${f.instances} instance${f.instances === 1 ? '' : 's'} (threshold ${percent(f.threshold)}; ${instanceList(f.hot, f.resource)})${seen === false ? ', though no 502s show right now' : ', and requests fail'}.`,
    actions: [
      'Until the new instances serve: shed load (rate-limit the heaviest clients, switch off costly features).',
      "Check whether one endpoint or client drives it (the proxy's access log by URL and client): adding instances only helps if the work is necessary.",
    ],
  };
};

export const upstreamSaturatedCause = defineCause({
  id: 'upstream_saturated',
  recommendation: 'scale-up',
  label: 'The targets are slow or refusing because CPU, memory or connections are exhausted.',
  rule: upstreamSaturated,
  triggeredBy: [],
  colour: '#1f77b4',
});
