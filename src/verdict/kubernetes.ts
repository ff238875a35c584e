import type { ChangeEvidence } from '../checks/changes/check.js';
import type {
  ContainerEvidence,
  EndpointState,
  EndpointsEvidence,
  HpaEvidence,
  KubernetesEvidence,
  PodEvidence,
  RolloutEvidence,
} from '../checks/kubernetes/check.js';
import { logUpstreams } from './evidence.js';
import type { Evidence } from './types.js';

/**
 * Typed access to the kubernetes check's evidence. Read from `results` by name
 * so the cluster's view needs no field of its own in Evidence; an errored or
 * skipped check counts as absent, like every other check.
 */
export function kube(ev: Evidence): KubernetesEvidence[] {
  const r = ev.results.find((x) => x.name === 'kubernetes');
  return r && r.status !== 'error' && r.status !== 'skipped' ? (r.evidence as KubernetesEvidence[]) : [];
}

export function kubeEndpoints(ev: Evidence): EndpointsEvidence | undefined {
  return kube(ev).find((e): e is EndpointsEvidence => e.kind === 'endpoints');
}

export function kubePods(ev: Evidence): PodEvidence[] {
  return kube(ev).filter((e): e is PodEvidence => e.kind === 'pod');
}

export function kubeRollout(ev: Evidence): RolloutEvidence | undefined {
  return kube(ev).find((e): e is RolloutEvidence => e.kind === 'rollout');
}

export function kubeHpa(ev: Evidence): HpaEvidence | undefined {
  return kube(ev).find((e): e is HpaEvidence => e.kind === 'hpa');
}

export interface OomKill {
  pod: PodEvidence;
  container: ContainerEvidence;
}

/** Containers OOMKilled inside the check's window before the onset. */
export function oomKills(ev: Evidence): OomKill[] {
  return kubePods(ev).flatMap((pod) =>
    pod.containers
      .filter((c) => c.last_terminated?.reason === 'OOMKilled' && c.last_terminated.recent)
      .map((container) => ({ pod, container })),
  );
}

/** Is a Deployment rollout under way (new pods coming, old ones still there, or stuck)? */
export function rolloutActive(r: RolloutEvidence): boolean {
  return r.state === 'progressing' || r.state === 'failed' || r.old_replica_sets.length > 0;
}

/** "Deployment checkout-api revision 5 (registry/checkout:1.5.0)". */
export function rolloutName(r: RolloutEvidence): string {
  return `Deployment ${r.deployment}${r.revision ? ` revision ${r.revision}` : ''}${r.images.length ? ` (${r.images.join(', ')})` : ''}`;
}

/**
 * A rollout that began inside the window, as a change the trigger can be
 * picked from: kind deploy, ref its ReplicaSet (the revision's pod template),
 * at the ReplicaSet's creation.
 */
export function rolloutChanges(ev: Evidence): ChangeEvidence[] {
  const r = kubeRollout(ev);
  if (!r?.recent || !r.started_at || r.minutes_before_onset === null) return [];
  return [
    {
      kind: 'deploy',
      ref: r.replica_set ?? `${r.deployment}@${r.revision ?? '?'}`,
      summary: `${rolloutName(r)} rollout`,
      author: null,
      at: r.started_at,
      minutes_before_onset: Math.round(r.minutes_before_onset),
      source: 'kubernetes',
    },
  ];
}

/** Pods of the current revision: those the rollout brought. */
export function ofCurrentRevision(ev: Evidence, pod: PodEvidence): boolean {
  const r = kubeRollout(ev);
  return Boolean(r?.template_hash && pod.template_hash === r.template_hash);
}

/** Running, ready pods' containers whose working set was measured against a limit. */
export function measuredMemory(ev: Evidence): { pod: PodEvidence; container: ContainerEvidence }[] {
  return kubePods(ev)
    .filter((p) => p.ready && !p.terminating)
    .flatMap((pod) =>
      pod.containers.filter((c) => c.memory_ratio !== null).map((container) => ({ pod, container })),
    );
}

/** "10.244.1.17 (checkout-api-7d9f8c6b5-x2k8p)": how a pod is named in a message. */
export function podLabel(p: PodEvidence): string {
  return p.ip ? `${p.name} (${p.ip})` : p.name;
}

/**
 * Addresses in the proxy's error log (host:port) that are these endpoints' pod
 * IPs: ingress-nginx and most proxies in a cluster send straight to pod IPs,
 * so a log line naming one says which pod the failing requests went to.
 */
export function loggedEndpoints(
  ev: Evidence,
  endpoints: readonly EndpointState[],
): { address: string; count: number }[] {
  const ips = new Set(endpoints.map((e) => e.address));
  return logUpstreams(ev).filter(({ address }) =>
    ips.has(address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')),
  );
}
