// Hand-made kubernetes-check evidence for the k8s-* rule tables: healthy
// defaults, so each case states only what differs.
import type {
  ContainerEvidence,
  EndpointsEvidence,
  HpaEvidence,
  KubernetesEvidence,
  PodEvidence,
  RolloutEvidence,
} from '../../src/checks/kubernetes/check.js';
import type { CheckResult } from '../../src/checks/types.js';

const MI = 2 ** 20;
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

export const NEW = 'aaa111';
export const OLD = 'bbb222';

export function container(over: Partial<ContainerEvidence> = {}): ContainerEvidence {
  return {
    name: 'app',
    ready: true,
    restarts: 0,
    state: 'running',
    reason: null,
    started_at: minutesAgo(60),
    last_terminated: null,
    memory_limit_bytes: 512 * MI,
    memory_bytes: null,
    memory_ratio: null,
    at_memory_limit: null,
    ...over,
  };
}

/** A container whose previous run was OOMKilled `minutes` before the onset after `ran` minutes, restarted since. */
export function oomKilled(
  minutes: number,
  ran = 9,
  over: Partial<ContainerEvidence> = {},
): ContainerEvidence {
  return container({
    restarts: 1,
    started_at: minutesAgo(minutes),
    last_terminated: {
      reason: 'OOMKilled',
      exit_code: 137,
      started_at: minutesAgo(minutes + ran),
      finished_at: minutesAgo(minutes),
      ran_minutes: ran,
      minutes_before_onset: minutes,
      recent: minutes <= 60,
    },
    ...over,
  });
}

/** A container whose working set is this share of its 512Mi limit (threshold 0.9). */
export function usingMemory(ratio: number): ContainerEvidence {
  return container({
    memory_bytes: Math.round(ratio * 512 * MI),
    memory_ratio: ratio,
    at_memory_limit: ratio >= 0.9,
  });
}

export function pod(n: number, hash = NEW, over: Partial<PodEvidence> = {}, c = container()): PodEvidence {
  return {
    kind: 'pod',
    name: `checkout-api-${hash}-p${n}`,
    ip: `10.244.0.${n}`,
    node: 'node-1',
    phase: 'Running',
    ready: true,
    terminating: false,
    replica_set: `checkout-api-${hash}`,
    template_hash: hash,
    restarts: c.restarts,
    containers: [c],
    events: [],
    ...over,
  };
}

/** Endpoints by condition counts: ready, terminating (still serving), not ready. */
export function endpoints(ready: number, terminating = 0, notReady = 0): EndpointsEvidence {
  const eps = [
    ...Array.from({ length: ready }, (_, i) => ({ ready: true, serving: true, terminating: false, i })),
    ...Array.from({ length: terminating }, (_, i) => ({
      ready: false,
      serving: true,
      terminating: true,
      i: 100 + i,
    })),
    ...Array.from({ length: notReady }, (_, i) => ({
      ready: false,
      serving: false,
      terminating: false,
      i: 200 + i,
    })),
  ].map(({ i, ...c }) => ({ address: `10.244.0.${i}`, pod: `checkout-api-p${i}`, node: 'node-1', ...c }));
  return {
    kind: 'endpoints',
    service: 'checkout-api',
    slices: 1,
    total: eps.length,
    ready,
    terminating,
    not_ready: notReady,
    endpoints: eps,
  };
}

export function rollout(over: Partial<RolloutEvidence> = {}): RolloutEvidence {
  return {
    kind: 'rollout',
    deployment: 'checkout-api',
    revision: '5',
    replica_set: `checkout-api-${NEW}`,
    template_hash: NEW,
    images: ['registry.example/checkout-api:1.5.0'],
    desired: 3,
    replicas: 3,
    updated: 3,
    ready: 3,
    available: 3,
    unavailable: 0,
    generation: 5,
    observed_generation: 5,
    progressing: { status: 'True', reason: 'NewReplicaSetAvailable', message: null },
    state: 'complete',
    started_at: minutesAgo(3 * 24 * 60),
    minutes_before_onset: 3 * 24 * 60,
    recent: false,
    old_replica_sets: [],
    ...over,
  };
}

/** A rollout that began `minutes` before the onset and is still replacing pods. */
export function rollingOut(minutes: number, over: Partial<RolloutEvidence> = {}): RolloutEvidence {
  return rollout({
    state: 'progressing',
    updated: 2,
    replicas: 4,
    progressing: { status: 'True', reason: 'ReplicaSetUpdated', message: null },
    started_at: minutesAgo(minutes),
    minutes_before_onset: minutes,
    recent: minutes <= 60,
    old_replica_sets: [`checkout-api-${OLD}`],
    ...over,
  });
}

export function hpa(current: number, max: number, cpu: number, target = 0.5): HpaEvidence {
  return {
    kind: 'hpa',
    name: 'checkout-api',
    target: 'Deployment/checkout-api',
    min: 1,
    max,
    current,
    desired: Math.min(max, Math.ceil((current * cpu) / target)),
    at_max: current >= max,
    limited: current >= max ? 'TooManyReplicas' : null,
    inactive: null,
    metrics: [
      {
        name: 'cpu',
        type: 'Resource',
        current_utilisation: cpu,
        target_utilisation: target,
        current_value: null,
        target_value: null,
      },
    ],
  };
}

export function kubernetes(...evidence: KubernetesEvidence[]): CheckResult<KubernetesEvidence> {
  return { name: 'kubernetes', status: 'warn', summary: 'kubernetes', duration_ms: 30, evidence };
}
