import { CAUSES, type Cause } from '../verdict/types.js';

/** Each cause in the words on-call would use, as the contract defines it. */
export const CAUSE_TEXT: Record<Cause, string> = {
  upstream_down: 'Every upstream target refuses connections or is unreachable.',
  upstream_partial: 'Some upstream targets are dead and still receive traffic.',
  proxy_misrouted: 'The targets are healthy, but the proxy sends requests to a wrong host, port or path.',
  dns_failure: 'An upstream name does not resolve.',
  upstream_crash: 'The targets accept connections, then reset or close them before answering.',
  upstream_timeout: 'The targets answer too slowly while their CPU and memory are not saturated.',
  upstream_saturated: 'The targets are slow or refusing because CPU, memory or connections are exhausted.',
  db_unavailable: 'The database refuses connections.',
  db_slow: 'The database is slow from long queries or locks, not from load.',
  db_saturated: 'The database is out of connections or CPU.',
  memory_leak: 'Upstream processes die at their memory limit and restart, memory climbing between restarts.',
  deploy_drain:
    '502s in bursts during a rollout or restart: the proxy still sends to instances being stopped.',
  recovered: 'No 502s now, and every check passes.',
  unknown: 'The evidence is missing or contradicts itself.',
};

export const ALL_CAUSES = Object.keys(CAUSES) as Cause[];

export function isCause(value: string): value is Cause {
  return Object.hasOwn(CAUSES, value);
}
