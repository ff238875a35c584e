import {
  changes,
  clamp,
  gatewayErrorsNow,
  hostPort,
  log,
  logUpstreams,
  statusCount,
  targetAddresses,
  targets,
} from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

const HOST_PORT = /^(\[[0-9a-f:.]+\]|[^:[\]\s]+):\d+$/i;
/** One stray line (a probe, a stale connection) is no proof of where the traffic goes. */
const MIN_LINES = 3;

function hostOf(address: string): string {
  return address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}

/**
 * The targets are healthy, yet the proxy fails: its log names an upstream
 * host:port that is none of the targets. The proxy is sending traffic to the
 * wrong place (a config change moved proxy_pass, a stale upstream block).
 */
export const proxyMisrouted: Rule = (ev) => {
  const all = targets(ev);
  if (all.length === 0 || !all.every((t) => t.status === 'ok')) return null;
  const now = gatewayErrorsNow(ev);
  if (now === false) return null;
  const known = targetAddresses(ev);
  const named = logUpstreams(ev).filter((u) => HOST_PORT.test(u.address));
  const total = named.reduce((a, u) => a + u.count, 0);
  const wrong = named.filter((u) => !known.has(u.address));
  const wrongCount = wrong.reduce((a, u) => a + u.count, 0);
  if (wrong.length === 0 || wrongCount * 2 < total || wrongCount < MIN_LINES) return null;
  // The lines must be a share of the traffic, not a few among many good requests.
  const l = log(ev);
  if (now === null && l && wrongCount * 2 < l.errors) return null;
  const to = wrong.map((u) => u.address).join(', ');
  const right = all.map(hostPort).join(', ');
  // Same host, another port, refused, and no config change: the health check may be probing a
  // management port while the serving port is down. A healthy port elsewhere proves nothing.
  const targetHosts = new Set(all.flatMap((t) => [t.host, ...t.addresses]));
  const sameHosts = wrong.every((u) => targetHosts.has(hostOf(u.address)));
  const configChanged = changes(ev).some((c) => c.kind === 'config');
  if (sameHosts && !configChanged)
    return {
      cause: 'unknown',
      confidence: 0.3,
      summary: `The proxy fails on ${to} while the targets checked (${right}) are healthy: same host, another port. Either the proxy points at the wrong port, or the app's serving port is down while the port checked (a management or health port) answers. The evidence cannot tell which.`,
      actions: [
        `On the upstream host, see what listens: \`ss -ltnp | grep -E '${wrong.map((u) => u.address.split(':').pop()).join('|')}'\`; if the app should serve there, restart it and find why its listener died.`,
        `If the app serves on ${right}, point the proxy there (\`nginx -T | grep -n proxy_pass\`).`,
        "Make the playbook's targets the port the proxy uses, so the next verdict is grounded.",
      ],
    };
  const notFound = statusCount(ev, 404) > 0;
  return {
    cause: 'proxy_misrouted',
    confidence: clamp(0.75 + (now ? 0.1 : 0) + (wrongCount === total ? 0.05 : 0)),
    summary: `The upstream targets (${right}) are healthy, but the proxy sends requests to ${to}, which is not one of them${now ? ', and users get 502s' : ''}.`,
    actions: [
      `Point the proxy back at ${right}: find ${to} in its config (\`nginx -T | grep -n '${wrong[0]?.address ?? ''}'\`), fix the proxy_pass/upstream server line, then \`nginx -t && nginx -s reload\`.`,
      ...(notFound
        ? [
            'Some requests also get 404: check the path in proxy_pass (a trailing slash changes the URI nginx sends).',
          ]
        : []),
      `Confirm: requests through the proxy answer 200 and its error log stops naming ${to}.`,
    ],
  };
};

export const proxyMisroutedCause = defineCause({
  id: 'proxy_misrouted',
  recommendation: 'fix',
  label: 'The targets are healthy, but the proxy sends requests to a wrong host, port or path.',
  rule: proxyMisrouted,
  triggeredBy: ['config'],
  colour: '#8c564b',
});
