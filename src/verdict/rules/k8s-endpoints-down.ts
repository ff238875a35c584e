import { clamp, gatewayErrorsNow, goodAnswers, sample } from '../evidence.js';
import { kubeEndpoints, kubePods, kubeRollout, podLabel, rolloutActive, rolloutName } from '../kubernetes.js';
import type { Rule } from '../types.js';

/**
 * No endpoint of the Service is ready: kube-proxy and ingress controllers have
 * nothing to send to. If the proxy still serves good answers, it is not routing
 * through this Service (or the playbook names the wrong one): said, not guessed.
 */
export const k8sEndpointsDown: Rule = (ev) => {
  const eps = kubeEndpoints(ev);
  if (!eps || eps.ready > 0) return null;
  const where = `Service ${eps.service}`;
  const s = sample(ev);
  if (s && goodAnswers(ev) > 0 && s.gateway_errors === 0)
    return {
      cause: 'unknown',
      confidence: 0.3,
      summary: `The evidence contradicts itself: no endpoint of ${where} is ready (0 of ${eps.total}), yet ${goodAnswers(ev)} of ${s.samples} requests through the proxy (${s.url}) got a good answer.`,
      actions: [
        "Check that the playbook's kubernetes.service is the Service the proxy routes to (ingress backend service name).",
        'Re-run the checks while the 502s are happening.',
      ],
    };
  const pods = kubePods(ev);
  const rollout = kubeRollout(ev);
  const reasons = pods.flatMap((p) => {
    const waiting = p.containers.find((c) => c.reason)?.reason;
    const probe = p.events.find((e) => e.reason === 'Unhealthy' || e.reason === 'BackOff');
    if (p.ready && !p.terminating) return [];
    return [
      `${podLabel(p)}: ${waiting ?? (p.terminating ? 'terminating' : 'not ready')}${probe ? ` (${probe.message})` : ''}`,
    ];
  });
  const parts = [
    eps.not_ready ? `${eps.not_ready} failing readiness` : '',
    eps.terminating ? `${eps.terminating} terminating` : '',
  ].filter(Boolean);
  const during = rollout && rolloutActive(rollout) ? ` during the rollout of ${rolloutName(rollout)}` : '';
  return {
    cause: 'upstream_down',
    confidence: clamp((eps.total === 0 ? 0.75 : 0.8) + (gatewayErrorsNow(ev) === true ? 0.1 : 0)),
    summary:
      eps.total === 0
        ? `${where} has no endpoints at all${during}: no pod matches its selector, or it is scaled to zero.`
        : `No endpoint of ${where} is ready (0 of ${eps.total}: ${parts.join(', ')})${during}: nothing can answer the proxy.`,
    actions: [
      ...(reasons.length ? [`Why the pods are not ready: ${reasons.slice(0, 5).join('; ')}.`] : []),
      `Read the failing pods' events and last logs: \`kubectl describe pod\`, \`kubectl logs --previous\`.`,
      ...(during
        ? [
            'If the new revision never becomes ready, undo the rollout: `kubectl rollout undo deployment/' +
              rollout!.deployment +
              '`.',
          ]
        : []),
      'Confirm recovery: endpoints ready again and the proxy stops returning 502.',
    ],
  };
};
