import {
  clamp,
  hostPort,
  loadOver,
  logActive,
  logSignatures,
  targetAddresses,
  targets,
} from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/** Connections that never came up: the path dropped them (a timeout) or has no route. */
const PATH_FAILURES = ['connect_timeout', 'unreachable'] as const;

/**
 * The proxy cannot connect to an address that is one of the targets, while the
 * same target takes connections from here at once and is idle: the trouble is
 * on the path between proxy and upstream (a firewall, a security group, a
 * route, a full conntrack table), not in either of them.
 */
export const networkPath: Rule = (ev) => {
  if (!logActive(ev)) return null;
  const all = targets(ev);
  if (all.length === 0) return null;
  const known = targetAddresses(ev);
  const lines = logSignatures(ev, PATH_FAILURES).flatMap((s) => s.upstreams);
  const onTargets = lines.filter((u) => known.has(u.address));
  const count = onTargets.reduce((a, u) => a + u.count, 0);
  if (count < 2) return null;
  const addresses = [...new Set(onTargets.map((u) => u.address))];
  const healthy = all.filter((t) => t.status === 'ok' && t.connect_ms !== null);
  if (healthy.length !== all.length || loadOver(ev)) return null;
  const fastest = Math.min(...healthy.map((t) => t.connect_ms ?? 0));
  return {
    cause: 'network_path',
    confidence: clamp(0.75 + (count >= 5 ? 0.05 : 0)),
    summary: `The proxy cannot connect to ${addresses.join(', ')} (${count} connect timeouts or unreachable routes in its log), yet ${all.map(hostPort).join(', ')} take${all.length === 1 ? 's' : ''} connections from here in ${fastest} ms and ${all.length === 1 ? 'is' : 'are'} healthy: the path between proxy and upstream drops them.`,
    actions: [
      `From the proxy host: \`nc -vz -w 2 ${addresses[0]?.replace(/:(\d+)$/, ' $1')}\` and \`mtr -T -P ${addresses[0]?.split(':').pop()} ${addresses[0]?.replace(/:\d+$/, '')}\` show where packets stop.`,
      "Check what sits between them: firewall rules and security groups (the proxy's source address must be allowed to the upstream port), Kubernetes NetworkPolicies, routes, and a full conntrack table on the proxy host (`dmesg | grep conntrack`; raise `net.netfilter.nf_conntrack_max`).",
      "Do not restart the upstream: it is healthy. Until the path is fixed, take the unreachable address out of the proxy's upstream list.",
    ],
  };
};

export const networkPathCause = defineCause({
  id: 'network_path',
  recommendation: 'fix',
  label:
    'The proxy cannot reach an upstream that is healthy and idle: connect timeouts, loss or latency between them.',
  rule: networkPath,
  triggeredBy: ['config'],
  colour: '#5254a3',
});
