import { hostPort } from '../evidence.js';
import type { Rule } from '../types.js';

export const dnsFailure: Rule = (ev) => {
  const targets = ev.upstream?.evidence ?? [];
  const unresolved = targets.filter((t) => t.outcome === 'dns');
  if (unresolved.length === 0) return null;
  const names = [...new Set(unresolved.map((t) => t.host))];
  return {
    cause: 'dns_failure',
    confidence: unresolved.length === targets.length ? 0.9 : 0.75,
    summary: `Upstream name${names.length > 1 ? 's' : ''} ${names.join(', ')} ${names.length > 1 ? 'do' : 'does'} not resolve, so the proxy cannot reach ${unresolved.length === targets.length ? 'any upstream' : 'part of the upstream'}.`,
    actions: [
      ...names.map(
        (n) =>
          `Check the DNS record for ${n} (dig ${n}); restore it or point the proxy at a name that resolves.`,
      ),
      `Verify the proxy's resolver can reach DNS, then reload the proxy so it resolves ${unresolved.map(hostPort).join(', ')} again.`,
    ],
  };
};
