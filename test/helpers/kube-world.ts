// A cluster's view of one service, built from the real objects in
// test/fixtures/kubernetes: each fixture is cloned and only the fields a story
// needs are changed (names, labels, readiness, restarts, times relative to now),
// so every other field stays as a real API server sent it.
import { fixture, fixtureItems, type KubeObject } from './fake-kube-apiserver.js';

/** An API timestamp `minutes` ago, at the second precision the API server uses. */
export function ago(minutes: number): string {
  return new Date(Date.now() - minutes * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
}

const clone = <T>(x: T): T => structuredClone(x);

/** Fixture JSON is edited in place by path; typing every Kubernetes field here would only restate the API. */
// biome-ignore lint/suspicious/noExplicitAny: plain API JSON, edited field by field
type Loose = any;

export interface PodStory {
  name: string;
  ip: string;
  /** pod-template-hash: which ReplicaSet (revision) runs it. */
  hash: string;
  ready: boolean;
  /** Being deleted: its endpoint terminating (serving while it drains). */
  terminating?: { serving: boolean };
  /** Its previous container OOMKilled this many minutes ago, after running `ranMinutes`. */
  oomKilled?: { minutesAgo: number; ranMinutes: number };
  restarts?: number;
  waiting?: string;
  memoryLimit?: string;
  /** Working set now, as metrics-server reports it ("498Mi"). */
  memoryUsed?: string;
}

export interface RolloutStory {
  revision: number;
  hash: string;
  /** The previous revision's hash, when its ReplicaSet still has pods. */
  oldHash?: string;
  /** When the current ReplicaSet was created. */
  startedMinutesAgo: number;
  desired: number;
  updated: number;
  available: number;
  replicas: number;
  progressing: { status: 'True' | 'False'; reason: string; message: string };
}

export interface WorldStory {
  namespace: string;
  service: string;
  pods: PodStory[];
  rollout: RolloutStory;
  hpa?: { current: number; desired: number; max: number; cpuPercent: number; targetPercent: number };
  /** Kubelet events on pods: the fixture's events, moved to this pod and this many minutes ago. */
  eventsOn?: { pod: string; minutesAgo: number };
}

/** A Pod from pod-oomkilled.json, made into one of the service's pods. */
export function podObject(w: WorldStory, p: PodStory): KubeObject {
  const pod = clone(fixture('pod-oomkilled.json')) as KubeObject & { spec: Loose; status: Loose };
  const rs = `${w.service}-${p.hash}`;
  pod.metadata = {
    ...pod.metadata,
    name: p.name,
    namespace: w.namespace,
    generateName: `${rs}-`,
    labels: { app: w.service, 'pod-template-hash': p.hash },
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: rs,
        uid: `uid-${rs}`,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
    creationTimestamp: ago(p.oomKilled ? p.oomKilled.minutesAgo + p.oomKilled.ranMinutes + 1 : 30),
    ...(p.terminating ? { deletionTimestamp: ago(0), deletionGracePeriodSeconds: 30 } : {}),
  };
  pod.spec.hostNetwork = false;
  pod.spec.containers[0].name = 'app';
  pod.spec.containers[0].resources.limits.memory = p.memoryLimit ?? '512Mi';
  const readyStatus = p.ready ? 'True' : 'False';
  pod.status.podIP = p.ip;
  pod.status.podIPs = [{ ip: p.ip }];
  pod.status.conditions = pod.status.conditions.map((c: { type: string }) =>
    c.type === 'Ready' || c.type === 'ContainersReady'
      ? { ...c, status: readyStatus, ...(p.ready ? {} : { reason: 'ContainersNotReady' }) }
      : c,
  );
  const cs = pod.status.containerStatuses[0];
  cs.name = 'app';
  cs.ready = p.ready;
  cs.restartCount = p.restarts ?? (p.oomKilled ? 1 : 0);
  if (p.oomKilled) {
    const finished = p.oomKilled.minutesAgo;
    cs.lastState.terminated.finishedAt = ago(finished);
    cs.lastState.terminated.startedAt = ago(finished + p.oomKilled.ranMinutes);
    cs.state = p.waiting
      ? { waiting: { reason: p.waiting, message: 'back-off 40s restarting failed container' } }
      : { running: { startedAt: ago(finished - 1 / 60) } };
  } else {
    cs.lastState = {};
    cs.state = p.waiting ? { waiting: { reason: p.waiting } } : { running: { startedAt: ago(30) } };
  }
  return pod;
}

/** The service's EndpointSlice: the fixture's slice with one endpoint per pod, conditions as kube-proxy sees them. */
export function endpointSliceObject(w: WorldStory): KubeObject {
  const [slice] = fixtureItems('endpointslice-list.json') as (KubeObject & {
    endpoints: Loose[];
    ports: Loose[];
  })[];
  const s = clone(slice!);
  const template = s.endpoints[1];
  s.metadata = {
    ...s.metadata,
    name: `${w.service}-6tjbr`,
    generateName: `${w.service}-`,
    namespace: w.namespace,
    labels: { ...s.metadata.labels, 'kubernetes.io/service-name': w.service },
  };
  s.endpoints = w.pods.map((p) => ({
    ...clone(template),
    addresses: [p.ip],
    conditions: {
      ready: p.ready && !p.terminating,
      serving: p.terminating ? p.terminating.serving : p.ready,
      terminating: Boolean(p.terminating),
    },
    targetRef: { kind: 'Pod', name: p.name, namespace: w.namespace, uid: `uid-${p.name}` },
  }));
  s.ports = [{ name: 'http', port: 8080, protocol: 'TCP' }];
  return s;
}

/** The Deployment from deployment-progressing.json, at the story's revision and progress. */
export function deploymentObject(w: WorldStory): KubeObject {
  const d = clone(fixture('deployment-progressing.json')) as KubeObject & { spec: Loose; status: Loose };
  const r = w.rollout;
  d.metadata = {
    ...d.metadata,
    name: w.service,
    namespace: w.namespace,
    generation: r.revision,
    annotations: { 'deployment.kubernetes.io/revision': String(r.revision) },
    labels: { app: w.service },
  };
  delete d.metadata.selfLink;
  d.spec.replicas = r.desired;
  d.spec.selector = { matchLabels: { app: w.service } };
  d.spec.template.metadata.labels = { app: w.service };
  d.spec.template.spec.containers[0].name = 'app';
  d.spec.template.spec.containers[0].image = `registry.example/${w.service}:1.${r.revision}.0`;
  d.status = {
    ...d.status,
    observedGeneration: r.revision,
    replicas: r.replicas,
    updatedReplicas: r.updated,
    readyReplicas: r.available,
    availableReplicas: r.available,
    unavailableReplicas: Math.max(0, r.replicas - r.available),
    conditions: d.status.conditions.map((c: { type: string }) =>
      c.type === 'Progressing' ? { ...c, ...r.progressing, lastUpdateTime: ago(0) } : c,
    ),
  };
  return d;
}

/** A ReplicaSet as the Deployment controller creates it for one revision. */
export function replicaSetObject(
  w: WorldStory,
  hash: string,
  revision: number,
  createdMinutesAgo: number,
  replicas: number,
): KubeObject {
  const name = `${w.service}-${hash}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: w.namespace,
      uid: `uid-${name}`,
      creationTimestamp: ago(createdMinutesAgo),
      labels: { app: w.service, 'pod-template-hash': hash },
      annotations: {
        'deployment.kubernetes.io/desired-replicas': String(w.rollout.desired),
        'deployment.kubernetes.io/max-replicas': String(w.rollout.desired + 1),
        'deployment.kubernetes.io/revision': String(revision),
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: w.service,
          uid: `uid-${w.service}`,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { replicas, selector: { matchLabels: { app: w.service, 'pod-template-hash': hash } } },
    status: { replicas, readyReplicas: replicas, availableReplicas: replicas, observedGeneration: 1 },
  };
}

/** The HPA from hpa-at-max.json, scaling the story's Deployment. */
export function hpaObject(w: WorldStory): KubeObject | null {
  const h = w.hpa;
  if (!h) return null;
  const o = clone(fixture('hpa-at-max.json')) as KubeObject & { spec: Loose; status: Loose };
  o.metadata = { ...o.metadata, name: w.service, namespace: w.namespace };
  o.spec.scaleTargetRef.name = w.service;
  o.spec.maxReplicas = h.max;
  o.spec.metrics[0].resource.target.averageUtilization = h.targetPercent;
  o.status.currentReplicas = h.current;
  o.status.desiredReplicas = h.desired;
  o.status.currentMetrics[0].resource.current.averageUtilization = h.cpuPercent;
  o.status.currentMetrics[0].resource.current.averageValue = `${h.cpuPercent * 2}m`;
  if (h.current < h.max)
    o.status.conditions = o.status.conditions.map((c: { type: string }) =>
      c.type === 'ScalingLimited'
        ? {
            ...c,
            status: 'False',
            reason: 'DesiredWithinRange',
            message: 'the desired count is within the acceptable range',
          }
        : c,
    );
  return o;
}

/** The fixture's kubelet events (Unhealthy, Killing, BackOff), moved onto one pod and to recent times. */
export function eventObjects(w: WorldStory): KubeObject[] {
  if (!w.eventsOn) return [];
  const { pod, minutesAgo } = w.eventsOn;
  return fixtureItems('event-list.json').map((e: Loose, i) => ({
    ...e,
    metadata: { ...e.metadata, namespace: w.namespace, name: `${pod}.${e.metadata.name.split('.')[1]}` },
    involvedObject: {
      ...e.involvedObject,
      namespace: w.namespace,
      name: pod,
      fieldPath: 'spec.containers{app}',
    },
    firstTimestamp: ago(minutesAgo + 2),
    lastTimestamp: ago(minutesAgo - i * 0.2),
  }));
}

/** metrics-server's PodMetrics for the pods with a `memoryUsed`. */
export function podMetricsObjects(w: WorldStory): KubeObject[] {
  const [template] = fixtureItems('podmetrics-list.json') as (KubeObject & { containers: Loose[] })[];
  return w.pods
    .filter((p) => p.memoryUsed)
    .map((p) => {
      const m = clone(template!);
      m.metadata = {
        ...m.metadata,
        name: p.name,
        namespace: w.namespace,
        labels: { app: w.service, 'pod-template-hash': p.hash },
      };
      m.timestamp = ago(0.2);
      m.containers = [{ name: 'app', usage: { cpu: '250000000n', memory: p.memoryUsed } }];
      return m;
    });
}

/** Every object of the story, ready for `fake.add(...)`. */
export function worldObjects(w: WorldStory): KubeObject[] {
  const r = w.rollout;
  const current = w.pods.filter((p) => p.hash === r.hash).length;
  const old = w.pods.filter((p) => p.hash === r.oldHash).length;
  return [
    ...w.pods.map((p) => podObject(w, p)),
    endpointSliceObject(w),
    deploymentObject(w),
    replicaSetObject(w, r.hash, r.revision, r.startedMinutesAgo, current),
    ...(r.oldHash ? [replicaSetObject(w, r.oldHash, r.revision - 1, 3 * 24 * 60, old)] : []),
    ...(w.hpa ? [hpaObject(w)!] : []),
    ...eventObjects(w),
    ...podMetricsObjects(w),
  ];
}

export const COMPLETE: RolloutStory['progressing'] = {
  status: 'True',
  reason: 'NewReplicaSetAvailable',
  message: 'ReplicaSet has successfully progressed.',
};

export const IN_PROGRESS = (rs: string): RolloutStory['progressing'] => ({
  status: 'True',
  reason: 'ReplicaSetUpdated',
  message: `ReplicaSet "${rs}" is progressing.`,
});
