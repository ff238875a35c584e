import { deadTargets, goodAnswers, hostPort, sample, targets } from '../evidence.js';
import type { Rule } from '../types.js';

/**
 * Evidence that cannot all be true at once. Every target refusing while the
 * proxy serves good answers means the playbook's targets are not what the proxy
 * uses (or the probe runs from the wrong network): naming a cause would be a
 * confident guess, so it says what disagrees instead.
 */
export const contradiction: Rule = (ev) => {
  const all = targets(ev);
  const dead = [...deadTargets(ev), ...all.filter((t) => t.outcome === 'dns')];
  const s = sample(ev);
  if (all.length === 0 || dead.length !== all.length || !s) return null;
  if (s.gateway_errors > 0 || goodAnswers(ev) === 0) return null;
  const list = dead.map(hostPort).join(', ');
  return {
    cause: 'unknown',
    confidence: 0.3,
    summary: `The evidence contradicts itself: every upstream target (${list}) fails from here, yet ${goodAnswers(ev)} of ${s.samples} requests through the proxy (${s.url}) got a good answer.`,
    actions: [
      `Compare the playbook's upstream targets (${list}) with what the proxy really sends to (nginx: the upstream/proxy_pass in its config; \`nginx -T | grep -E 'proxy_pass|server '\`).`,
      'Run the probe from the proxy host itself: a firewall or network policy may block gatewatch but not the proxy.',
      'Fix the playbook targets so the next verdict is grounded, and re-run the checks while the 502s are happening.',
    ],
  };
};
