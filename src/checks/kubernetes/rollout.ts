import { z } from 'zod';
import type { KubeClient } from './client.js';
import { LIST_LIMIT } from './client.js';
import { inWindow, minutesBefore } from './time.js';

const REVISION = 'deployment.kubernetes.io/revision';

const ConditionSchema = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().nullish(),
  message: z.string().nullish(),
});

const SelectorSchema = z.object({
  matchLabels: z.record(z.string(), z.string()).nullish(),
  matchExpressions: z
    .array(z.object({ key: z.string(), operator: z.string(), values: z.array(z.string()).nullish() }))
    .nullish(),
});

export const DeploymentSchema = z.object({
  metadata: z.object({
    name: z.string(),
    generation: z.number().int().nullish(),
    annotations: z.record(z.string(), z.string()).nullish(),
  }),
  spec: z.object({
    replicas: z.number().int().nullish(),
    paused: z.boolean().nullish(),
    selector: SelectorSchema,
    template: z.object({
      spec: z.object({ containers: z.array(z.object({ name: z.string(), image: z.string().nullish() })) }),
    }),
  }),
  status: z
    .object({
      observedGeneration: z.number().int().nullish(),
      replicas: z.number().int().nullish(),
      updatedReplicas: z.number().int().nullish(),
      readyReplicas: z.number().int().nullish(),
      availableReplicas: z.number().int().nullish(),
      unavailableReplicas: z.number().int().nullish(),
      conditions: z.array(ConditionSchema).nullish(),
    })
    .nullish(),
});

export type Deployment = z.infer<typeof DeploymentSchema>;

const ReplicaSetSchema = z.object({
  metadata: z.object({
    name: z.string(),
    creationTimestamp: z.string().nullish(),
    annotations: z.record(z.string(), z.string()).nullish(),
    labels: z.record(z.string(), z.string()).nullish(),
    ownerReferences: z.array(z.object({ kind: z.string(), name: z.string() })).nullish(),
  }),
  status: z.object({ replicas: z.number().int().nullish() }).nullish(),
});
const ReplicaSetListSchema = z.object({ items: z.array(ReplicaSetSchema) });

export type RolloutState = 'complete' | 'progressing' | 'failed' | 'paused';

export interface RolloutEvidence {
  kind: 'rollout';
  deployment: string;
  /** The Deployment's revision and the ReplicaSet that runs it (the new one during a rollout). */
  revision: string | null;
  replica_set: string | null;
  template_hash: string | null;
  images: string[];
  desired: number;
  replicas: number;
  updated: number;
  ready: number;
  available: number;
  unavailable: number;
  generation: number | null;
  observed_generation: number | null;
  progressing: { status: string; reason: string | null; message: string | null } | null;
  state: RolloutState;
  /** When the current ReplicaSet was created: the rollout's start (a rollback to an older set shows that set's birth). */
  started_at: string | null;
  minutes_before_onset: number | null;
  /** Started inside the check's window before the onset. */
  recent: boolean;
  /** ReplicaSets of older revisions that still have pods. */
  old_replica_sets: string[];
}

/** A Deployment's selector as a label-selector string (matchLabels, and matchExpressions In/NotIn/Exists). */
export function selectorString(sel: Deployment['spec']['selector']): string {
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export function getDeployment(client: KubeClient, namespace: string, name: string): Promise<Deployment> {
  return client.get(`/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, {}, DeploymentSchema);
}

/** The Deployment that owns a ReplicaSet, or null when the set has no Deployment owner. */
export async function deploymentOfReplicaSet(
  client: KubeClient,
  namespace: string,
  replicaSet: string,
): Promise<string | null> {
  const rs = await client.get(
    `/apis/apps/v1/namespaces/${namespace}/replicasets/${replicaSet}`,
    {},
    ReplicaSetSchema,
  );
  return rs.metadata.ownerReferences?.find((o) => o.kind === 'Deployment')?.name ?? null;
}

function rolloutState(d: Deployment, progressing: RolloutEvidence['progressing']): RolloutState {
  const s = d.status ?? {};
  const desired = d.spec.replicas ?? 1;
  if (d.spec.paused) return 'paused';
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') return 'failed';
  if ((s.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) return 'progressing';
  const done =
    (s.updatedReplicas ?? 0) === desired &&
    (s.availableReplicas ?? 0) >= desired &&
    (s.replicas ?? 0) === desired;
  return done ? 'complete' : 'progressing';
}

/**
 * The Deployment's rollout: how far the new ReplicaSet has got and when it
 * began. Complete when updated == available == desired with no old pods left;
 * failed when Progressing is False with ProgressDeadlineExceeded.
 */
export async function readRollout(
  client: KubeClient,
  namespace: string,
  d: Deployment,
  opts: { onsetAt: number; windowMinutes: number },
): Promise<RolloutEvidence> {
  const revision = d.metadata.annotations?.[REVISION] ?? null;
  const sets = await client.get(
    `/apis/apps/v1/namespaces/${namespace}/replicasets`,
    { labelSelector: selectorString(d.spec.selector), limit: String(LIST_LIMIT) },
    ReplicaSetListSchema,
  );
  const owned = sets.items.filter((rs) =>
    rs.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === d.metadata.name),
  );
  const current = owned.find((rs) => revision !== null && rs.metadata.annotations?.[REVISION] === revision);
  const cond = d.status?.conditions?.find((c) => c.type === 'Progressing');
  const progressing = cond
    ? { status: cond.status, reason: cond.reason ?? null, message: cond.message ?? null }
    : null;
  const started = current?.metadata.creationTimestamp ?? null;
  const before = minutesBefore(started, opts.onsetAt);
  const s = d.status ?? {};
  return {
    kind: 'rollout',
    deployment: d.metadata.name,
    revision,
    replica_set: current?.metadata.name ?? null,
    template_hash: current?.metadata.labels?.['pod-template-hash'] ?? null,
    images: d.spec.template.spec.containers.flatMap((c) => (c.image ? [c.image] : [])),
    desired: d.spec.replicas ?? 1,
    replicas: s.replicas ?? 0,
    updated: s.updatedReplicas ?? 0,
    ready: s.readyReplicas ?? 0,
    available: s.availableReplicas ?? 0,
    unavailable: s.unavailableReplicas ?? 0,
    generation: d.metadata.generation ?? null,
    observed_generation: s.observedGeneration ?? null,
    progressing,
    state: rolloutState(d, progressing),
    started_at: started,
    minutes_before_onset: before,
    recent: inWindow(before, opts.windowMinutes),
    old_replica_sets: owned
      .filter((rs) => rs !== current && (rs.status?.replicas ?? 0) > 0)
      .map((rs) => rs.metadata.name),
  };
}
