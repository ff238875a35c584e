import { fleetLoad } from '../capacity.js';
import { learnedTargets, percent } from '../evidence.js';
import type { Rule } from '../types.js';

/**
 * The proxy holds requests in its queue because every server it may send them to is at its
 * connection limit (HAProxy `maxconn`); those that wait past `timeout queue` get 503. A saturated
 * fleet and a limit set lower than the servers can take look alike from the proxy: with the servers
 * hot, upstream_saturated has answered before this rule; with them idle, or unmeasured, this is a
 * stated conflict. Runs after every cause that explains failing servers, so it only speaks when the
 * queue is the one thing the evidence shows.
 */
export const proxyQueue: Rule = (ev) => {
  const all = learnedTargets(ev);
  const queued = all.filter((t) => t.proxy_view.failure === 'queue_full');
  if (queued.length === 0) return null;
  const limits = [...new Set(queued.map((t) => t.proxy_view.gauges.slim ?? 0).filter((n) => n > 0))];
  const limit = limits.length === 1 ? ` (maxconn ${limits[0]})` : '';
  const f = fleetLoad(ev);
  // A fleet over its target utilisation is saturation's to judge (upstream_saturated, hot-instance).
  if (f && f.mean > f.target) return null;
  const servers =
    queued.length === 1
      ? all.length === 1
        ? 'The one server behind the proxy is at its'
        : `1 of ${all.length} servers behind the proxy is at its`
      : `${queued.length === all.length ? `All ${all.length}` : `${queued.length} of ${all.length}`} servers behind the proxy are at their`;
  const queue = `${servers} connection limit${limit} with requests waiting in the proxy's queue; those that wait past \`timeout queue\` get 503.`;
  const resource = f?.resource === 'cpu' ? 'CPU' : f?.resource;
  return {
    cause: 'unknown',
    confidence: f ? 0.4 : 0.3,
    summary: f
      ? `${queue} Yet the servers' ${resource} is ${percent(f.mean)}, under the ${percent(f.target)} target: not saturated. Either the limit is lower than the servers can take, or each request waits on something downstream; nothing here tells which.`
      : `${queue} Without the servers' CPU, a saturated fleet (scale up) and a limit set too low (raise it) look alike.`,
    actions: [
      ...(f
        ? []
        : [
            "Look at the servers' CPU now (`top`, or add `load.scrape` to the playbook): at their limit → scale up; idle → the next two.",
          ]),
      'Find what a request waits for on the servers: its slowest downstream calls (a database, another service). Raising the limit while they wait only moves the queue there.',
      "If they have headroom, raise `maxconn` on the proxy's server lines to what each server takes at once (its worker or thread pool), and reload the proxy.",
    ],
  };
};
