import { clamp, dominantLog, gatewayErrorsNow, hostPort, logUpstreams, targets } from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/** An upstream name does not resolve: the probes say so, or the proxy's log mostly does. */
export const dnsFailure: Rule = (ev) => {
  const all = targets(ev);
  const unresolved = all.filter((t) => t.outcome === 'dns');
  const top = dominantLog(ev);
  const logSays = top?.kind === 'dns' && gatewayErrorsNow(ev) !== false;
  if (unresolved.length === 0 && !logSays) return null;
  const fromLog = logSays ? logUpstreams(ev, 'dns').map((u) => u.address.replace(/:\d+$/, '')) : [];
  const names = [...new Set([...unresolved.map((t) => t.host), ...fromLog])];
  const agree = unresolved.length > 0 && logSays;
  const everyTarget = all.length > 0 && unresolved.length === all.length;
  const confidence = clamp(
    (everyTarget ? 0.8 : unresolved.length > 0 ? 0.7 : 0.65) +
      (agree ? 0.1 : 0) +
      (gatewayErrorsNow(ev) ? 0.05 : 0),
  );
  const what = names.length ? names.join(', ') : 'an upstream name';
  const scope = everyTarget || (unresolved.length === 0 && logSays) ? 'any upstream' : 'part of the upstream';
  return {
    cause: 'dns_failure',
    confidence,
    summary: `Upstream name${names.length > 1 ? 's' : ''} ${what} ${names.length > 1 ? 'do' : 'does'} not resolve, so the proxy cannot reach ${scope}.`,
    actions: [
      ...names.map(
        (n) =>
          `Check the DNS record for ${n} (\`dig ${n}\` from the proxy host); restore it, or point the proxy at a name that resolves.`,
      ),
      `Check the proxy's resolver (nginx \`resolver\` directive, /etc/resolv.conf) answers, then reload the proxy${unresolved.length ? ` so it resolves ${unresolved.map(hostPort).join(', ')} again` : ''}.`,
    ],
  };
};

export const dnsFailureCause = defineCause({
  id: 'dns_failure',
  recommendation: 'fix',
  label: 'An upstream name does not resolve.',
  rule: dnsFailure,
  triggeredBy: ['config'],
  colour: '#e377c2',
});
