import { clamp, hostPort, loadOver, logById, logSignatures, targets } from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/**
 * How long proxies keep an idle upstream connection for reuse by default:
 * nginx's upstream `keepalive_timeout` and the AWS ALB idle timeout are both 60 s.
 */
export const PROXY_IDLE_TIMEOUT_S = 60;

/**
 * The upstream closes idle keep-alive connections sooner than the proxy stops
 * reusing them: a request sent on a connection the upstream is closing gets
 * `upstream prematurely closed` or a reset. It is intermittent, the upstream is
 * healthy and idle, and fresh connections (our probes) always work. What proves
 * it is the upstream's own keep-alive timeout, shorter than the proxy's.
 */
export const upstreamKeepalive: Rule = (ev) => {
  const closed = logById(ev, ['premature_close', 'reset']);
  if (closed < 2) return null;
  // A process that restarts also refuses for a moment: that is a crash, not a race.
  if (logById(ev, ['refused', 'connect_failure', 'no_live_upstreams']) > 0) return null;
  const all = targets(ev);
  if (all.length === 0 || !all.every((t) => t.status === 'ok')) return null;
  if (loadOver(ev)) return null;
  const short = all.filter((t) => t.keep_alive_s != null && t.keep_alive_s < PROXY_IDLE_TIMEOUT_S);
  if (short.length === 0) return null;
  const seconds = Math.min(...short.map((t) => t.keep_alive_s!));
  const raw =
    logSignatures(ev, ['premature_close', 'reset'])[0]?.raw ?? 'upstream prematurely closed connection';
  const list = short.map(hostPort).join(', ');
  const longer = PROXY_IDLE_TIMEOUT_S + 5;
  return {
    cause: 'upstream_keepalive',
    confidence: clamp(0.75 + (closed >= 5 ? 0.05 : 0)),
    summary: `${list} close${short.length === 1 ? 's' : ''} idle keep-alive connections after ${seconds} s (it advertises \`Keep-Alive: timeout=${seconds}\`) while the proxy reuses them for up to ${PROXY_IDLE_TIMEOUT_S} s: ${closed} requests on reused connections failed (\`${raw}\`), though the upstream is healthy and every fresh connection works.`,
    actions: [
      `Make the upstream's keep-alive timeout longer than the proxy's ${PROXY_IDLE_TIMEOUT_S} s: Node \`server.keepAliveTimeout = ${longer * 1000}; server.headersTimeout = ${(longer + 1) * 1000};\`, gunicorn \`--keep-alive ${longer}\`, uvicorn \`--timeout-keep-alive ${longer}\`, Apache \`KeepAliveTimeout ${longer}\`.`,
      `Or make the proxy drop idle connections first: nginx \`keepalive_timeout ${Math.max(1, seconds - 1)}s;\` in the upstream block (below the upstream's ${seconds} s), HAProxy \`timeout http-keep-alive ${Math.max(1, seconds - 1)}s\`.`,
      'POSTs suffer most: nginx retries a failed reused connection only for idempotent requests (`proxy_next_upstream`).',
    ],
  };
};

export const upstreamKeepaliveCause = defineCause({
  id: 'upstream_keepalive',
  recommendation: 'fix',
  label:
    "The upstream closes idle keep-alive connections that the proxy still reuses (its keep-alive timeout is shorter than the proxy's).",
  rule: upstreamKeepalive,
  triggeredBy: ['deploy', 'config'],
  colour: '#e7ba52',
});
