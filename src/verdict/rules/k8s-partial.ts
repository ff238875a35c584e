import { clamp, gatewayErrorsNow } from '../evidence.js';
import { kubeEndpoints, loggedEndpoints } from '../kubernetes.js';
import type { Rule } from '../types.js';

/**
 * Some endpoints fail readiness, others are ready, and the proxy's log names
 * the failing pods' IPs: the proxy does not follow the EndpointSlices (static
 * pod IPs, a stale upstream list, a load balancer with its own health view),
 * so it keeps sending to pods Kubernetes took out of service. Without the log
 * naming them, Kubernetes routes around not-ready pods and they explain nothing.
 */
export const k8sPartial: Rule = (ev) => {
  const eps = kubeEndpoints(ev);
  if (!eps || eps.ready === 0 || eps.not_ready === 0) return null;
  const notReady = eps.endpoints.filter((e) => !e.ready && !e.terminating);
  const hit = loggedEndpoints(ev, notReady);
  if (hit.length === 0) return null;
  const list = hit.map((h) => h.address).join(', ');
  return {
    cause: 'upstream_partial',
    confidence: clamp(0.8 + (gatewayErrorsNow(ev) === true ? 0.05 : 0)),
    summary: `${eps.not_ready} of ${eps.total} endpoints of Service ${eps.service} fail readiness, and the proxy's errors name them (${list}): it still sends to pods Kubernetes took out of service; ${eps.ready} are ready.`,
    actions: [
      `Make the proxy follow the Service's ready endpoints (ingress-nginx does; a static upstream of pod IPs or an external load balancer does not), or take ${list} out of its pool.`,
      'Find why those pods fail readiness: `kubectl describe pod` (probe events), `kubectl logs`.',
    ],
  };
};
