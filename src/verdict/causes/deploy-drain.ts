import { changes, clamp, loadOver, log, logSignatures, targets } from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/** What a proxy logs when it sends to an instance that is stopping or not yet listening. */
const STOPPING = ['refused', 'connect_failure', 'reset', 'premature_close', 'no_live_upstreams'] as const;
/** A burst longer than this is not one rollout's restarts. */
const BURST_MINUTES = 5;
/** How far before the first error a deploy may have started to count as its cause. */
const LEAD_MINUTES = 2;

/**
 * 502s in a burst that lines up with a deploy or restart, and healthy targets
 * since: the proxy kept sending to instances being stopped (no graceful drain,
 * a readiness gap). The deploy itself may be fine; the way it rolls out is not.
 */
export const deployDrain: Rule = (ev) => {
  const l = log(ev);
  const sigs = logSignatures(ev, STOPPING).filter((s) => s.first_at && s.last_at);
  if (!l || sigs.length === 0) return null;
  const first = Math.min(...sigs.map((s) => Date.parse(s.first_at!)));
  const last = Math.max(...sigs.map((s) => Date.parse(s.last_at!)));
  if (last - first > BURST_MINUTES * 60_000) return null;
  const all = targets(ev);
  if (all.length === 0 || !all.every((t) => t.status === 'ok') || loadOver(ev)) return null;
  const deploy = changes(ev)
    .filter((c) => c.kind === 'deploy')
    .map((c) => ({ c, at: Date.parse(c.at) }))
    .filter(({ at }) => at >= first - LEAD_MINUTES * 60_000 && at <= last)
    .sort((a, b) => b.at - a.at)[0];
  if (!deploy) return null;
  const count = sigs.reduce((a, s) => a + s.count, 0);
  const span = Math.max(1, Math.round((last - first) / 1000));
  return {
    cause: 'deploy_drain',
    confidence: clamp(0.75 + (count >= 3 ? 0.05 : 0)),
    summary: `${count} upstream errors in a ${span} s burst (${sigs.map((s) => s.id).join(', ')}) lined up with deploy ${deploy.c.ref}, and every target is healthy since: the proxy kept sending to instances being stopped or not yet ready.`,
    actions: [
      'Drain before stopping: take the instance out of the proxy first (HAProxy `set server BACKEND/SERVER state drain` on its runtime API, nginx an upstream `server … down` + reload), wait for in-flight requests, then stop it.',
      'Make the app stop gracefully on SIGTERM: stop accepting, finish in-flight requests (Node `server.close()`, gunicorn `--graceful-timeout 30`), and only then exit; in Kubernetes add `preStop: sleep 10` and keep `terminationGracePeriodSeconds` above it.',
      'Let the proxy retry on another instance meanwhile: nginx `proxy_next_upstream error timeout http_502;` with `max_fails=1 fail_timeout=5s`, HAProxy `retries 3` + `option redispatch`.',
    ],
  };
};

export const deployDrainCause = defineCause({
  id: 'deploy_drain',
  recommendation: 'fix',
  label:
    'The 502s come in bursts during a rollout or restart: the proxy still sends to instances being stopped.',
  rule: deployDrain,
  triggeredBy: ['deploy'],
  colour: '#ce6dbd',
});
