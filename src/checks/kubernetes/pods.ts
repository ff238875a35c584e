import { z } from 'zod';
import { apiStatus, type KubeClient, LIST_LIMIT } from './client.js';
import { parseQuantity } from './quantity.js';
import { inWindow, minutesBefore } from './time.js';

const TerminatedSchema = z.object({
  reason: z.string().nullish(),
  exitCode: z.number().int(),
  startedAt: z.string().nullish(),
  finishedAt: z.string().nullish(),
});

const StateSchema = z
  .object({
    running: z.object({ startedAt: z.string().nullish() }).nullish(),
    waiting: z.object({ reason: z.string().nullish() }).nullish(),
    terminated: TerminatedSchema.nullish(),
  })
  .nullish();

export const PodSchema = z.object({
  metadata: z.object({
    name: z.string(),
    labels: z.record(z.string(), z.string()).nullish(),
    deletionTimestamp: z.string().nullish(),
    ownerReferences: z.array(z.object({ kind: z.string(), name: z.string() })).nullish(),
  }),
  spec: z
    .object({
      nodeName: z.string().nullish(),
      containers: z.array(
        z.object({
          name: z.string(),
          resources: z.object({ limits: z.record(z.string(), z.string()).nullish() }).nullish(),
        }),
      ),
    })
    .nullish(),
  status: z
    .object({
      phase: z.string().nullish(),
      podIP: z.string().nullish(),
      conditions: z.array(z.object({ type: z.string(), status: z.string() })).nullish(),
      containerStatuses: z
        .array(
          z.object({
            name: z.string(),
            ready: z.boolean(),
            restartCount: z.number().int(),
            state: StateSchema,
            lastState: StateSchema,
          }),
        )
        .nullish(),
    })
    .nullish(),
});

const PodListSchema = z.object({ items: z.array(PodSchema) });

export type Pod = z.infer<typeof PodSchema>;

export interface LastTermination {
  reason: string | null;
  exit_code: number;
  started_at: string | null;
  finished_at: string | null;
  /** How long the previous container ran before it ended: a leak kills after a similar run each time. */
  ran_minutes: number | null;
  minutes_before_onset: number | null;
  /** Ended inside the check's window before the onset. */
  recent: boolean;
}

export interface ContainerEvidence {
  name: string;
  ready: boolean;
  restarts: number;
  state: 'running' | 'waiting' | 'terminated' | 'unknown';
  /** CrashLoopBackOff, ImagePullBackOff, …, or the current termination's reason. */
  reason: string | null;
  started_at: string | null;
  last_terminated: LastTermination | null;
  memory_limit_bytes: number | null;
  /** Working set now, from metrics.k8s.io; null when no metrics server answers. */
  memory_bytes: number | null;
  /** Working set ÷ limit; null without both. */
  memory_ratio: number | null;
  /** At or above the playbook's memory_threshold of its limit. */
  at_memory_limit: boolean | null;
}

export interface PodEvent {
  reason: string;
  type: string;
  count: number;
  last_at: string | null;
  message: string;
}

export interface PodEvidence {
  kind: 'pod';
  name: string;
  ip: string | null;
  node: string | null;
  phase: string | null;
  ready: boolean;
  /** Being deleted (it has a deletionTimestamp). */
  terminating: boolean;
  /** Its ReplicaSet, and that set's pod-template-hash: which revision of the Deployment it runs. */
  replica_set: string | null;
  template_hash: string | null;
  restarts: number;
  containers: ContainerEvidence[];
  events: PodEvent[];
}

/** Pods answering a label selector (at most LIST_LIMIT). */
export async function listPods(client: KubeClient, namespace: string, selector: string): Promise<Pod[]> {
  const list = await client.get(
    `/api/v1/namespaces/${namespace}/pods`,
    { labelSelector: selector, limit: String(LIST_LIMIT) },
    PodListSchema,
  );
  return list.items;
}

/**
 * Pods by name, each read on its own: the endpoints name them, and a namespace may hold thousands of
 * others. One that is gone by now (404, deleted since the endpoints were read) is left out.
 */
export async function getPods(
  client: KubeClient,
  namespace: string,
  names: readonly string[],
): Promise<Pod[]> {
  const pods = await Promise.all(
    names.map((name) =>
      client
        .get(`/api/v1/namespaces/${namespace}/pods/${encodeURIComponent(name)}`, {}, PodSchema)
        .catch((err: unknown) => {
          if (apiStatus(err) === 404) return null;
          throw err;
        }),
    ),
  );
  return pods.filter((p): p is Pod => p !== null);
}

function minutesBetween(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.round((ms / 60_000) * 10) / 10 : null;
}

/** The parts of a pod that explain a 502: readiness, restarts and how the last container ended. */
export function podEvidence(pod: Pod, opts: { onsetAt: number; windowMinutes: number }): PodEvidence {
  const limits = new Map(
    (pod.spec?.containers ?? []).map((c) => [c.name, parseQuantity(c.resources?.limits?.memory)]),
  );
  const containers: ContainerEvidence[] = (pod.status?.containerStatuses ?? []).map((c) => {
    const last = c.lastState?.terminated;
    const before = minutesBefore(last?.finishedAt, opts.onsetAt);
    const state = c.state?.running
      ? 'running'
      : c.state?.waiting
        ? 'waiting'
        : c.state?.terminated
          ? 'terminated'
          : 'unknown';
    return {
      name: c.name,
      ready: c.ready,
      restarts: c.restartCount,
      state,
      reason: c.state?.waiting?.reason ?? c.state?.terminated?.reason ?? null,
      started_at: c.state?.running?.startedAt ?? null,
      last_terminated: last
        ? {
            reason: last.reason ?? null,
            exit_code: last.exitCode,
            started_at: last.startedAt ?? null,
            finished_at: last.finishedAt ?? null,
            ran_minutes: minutesBetween(last.startedAt, last.finishedAt),
            minutes_before_onset: before,
            recent: inWindow(before, opts.windowMinutes),
          }
        : null,
      memory_limit_bytes: limits.get(c.name) ?? null,
      memory_bytes: null,
      memory_ratio: null,
      at_memory_limit: null,
    };
  });
  const owner = pod.metadata.ownerReferences?.find((o) => o.kind === 'ReplicaSet')?.name ?? null;
  return {
    kind: 'pod',
    name: pod.metadata.name,
    ip: pod.status?.podIP ?? null,
    node: pod.spec?.nodeName ?? null,
    phase: pod.status?.phase ?? null,
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    terminating: Boolean(pod.metadata.deletionTimestamp),
    replica_set: owner,
    template_hash: pod.metadata.labels?.['pod-template-hash'] ?? null,
    restarts: containers.reduce((a, c) => a + c.restarts, 0),
    containers,
    events: [],
  };
}

/** Containers whose previous run was OOMKilled inside the window. */
export function recentOomKills(pod: PodEvidence): ContainerEvidence[] {
  return pod.containers.filter((c) => c.last_terminated?.reason === 'OOMKilled' && c.last_terminated.recent);
}
