import { errorMessage } from '../../errors.js';
import type { KubernetesCheckConfig } from '../../playbooks/schema.js';
import type { Check, CheckContext, CheckOutput, CheckStatus } from '../types.js';
import { resolveCredentials } from './auth.js';
import { type KubeClient, kubeClient } from './client.js';
import { type EndpointsEvidence, readEndpoints } from './endpointslices.js';
import { readPodEvents } from './events.js';
import { type HpaEvidence, overTarget, readHpa } from './hpa.js';
import { readPodMemory } from './metrics.js';
import { getPods, listPods, type Pod, type PodEvidence, podEvidence, recentOomKills } from './pods.js';
import { formatBytes } from './quantity.js';
import {
  type Deployment,
  deploymentOfReplicaSet,
  getDeployment,
  type RolloutEvidence,
  readRollout,
  selectorString,
} from './rollout.js';

export type { EndpointState, EndpointsEvidence } from './endpointslices.js';
export type { HpaEvidence, HpaMetric } from './hpa.js';
export type { ContainerEvidence, PodEvidence } from './pods.js';
export type { RolloutEvidence } from './rollout.js';

/** A part of the cluster's view that could not be read (an HPA that is forbidden), said instead of guessed. */
export interface KubernetesGap {
  kind: 'gap';
  part: 'rollout' | 'hpa' | 'events' | 'metrics';
  error: string;
}

export type KubernetesEvidence =
  | EndpointsEvidence
  | PodEvidence
  | RolloutEvidence
  | HpaEvidence
  | KubernetesGap;

/** Pods read in full; beyond this the pods are counted in the endpoints, not described. */
const MAX_PODS = 100;

interface Window {
  onsetAt: number;
  windowMinutes: number;
}

/** The pods behind the endpoints: by the playbook's selector, the Deployment's, or the endpoints' own targets. */
async function findPods(
  client: KubeClient,
  cfg: KubernetesCheckConfig,
  endpoints: EndpointsEvidence | null,
  deployment: Deployment | null,
): Promise<{ pods: Pod[]; selector: string | undefined }> {
  const selector = cfg.selector ?? (deployment ? selectorString(deployment.spec.selector) : undefined);
  if (selector) return { pods: await listPods(client, cfg.namespace, selector), selector };
  const named = new Set((endpoints?.endpoints ?? []).flatMap((e) => (e.pod ? [e.pod] : [])));
  return { pods: await getPods(client, cfg.namespace, [...named].slice(0, MAX_PODS)), selector: undefined };
}

/** The Deployment that owns the pods' most common ReplicaSet (one named in the playbook is read directly). */
async function findDeployment(
  client: KubeClient,
  cfg: KubernetesCheckConfig,
  pods: Pod[],
): Promise<Deployment | null> {
  const counts = new Map<string, number>();
  for (const p of pods)
    for (const o of p.metadata.ownerReferences ?? [])
      if (o.kind === 'ReplicaSet') counts.set(o.name, (counts.get(o.name) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!top) return null;
  const name = await deploymentOfReplicaSet(client, cfg.namespace, top);
  return name ? getDeployment(client, cfg.namespace, name) : null;
}

/** Runs a part that may fail on its own (forbidden, absent) without sinking the check; its gap is reported. */
async function optional<T>(
  part: KubernetesGap['part'],
  gaps: KubernetesGap[],
  signal: AbortSignal,
  fn: () => Promise<T>,
): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (signal.aborted) throw err;
    gaps.push({ kind: 'gap', part, error: errorMessage(err) });
    return null;
  }
}

async function gather(
  client: KubeClient,
  cfg: KubernetesCheckConfig,
  ctx: CheckContext,
): Promise<KubernetesEvidence[]> {
  const win: Window = { onsetAt: ctx.onsetAt, windowMinutes: cfg.window_minutes };
  const gaps: KubernetesGap[] = [];
  // Endpoints and the named Deployment are independent; the pods need one of them (or the selector).
  const [endpoints, named] = await Promise.all([
    cfg.service ? readEndpoints(client, cfg.namespace, cfg.service) : null,
    cfg.deployment ? getDeployment(client, cfg.namespace, cfg.deployment) : null,
  ]);
  const { pods, selector } = await findPods(client, cfg, endpoints, named);
  const shown = pods.slice(0, MAX_PODS);
  const podNames = new Set(shown.map((p) => p.metadata.name));
  const [deployment, hpa, events, memory] = await Promise.all([
    named ?? optional('rollout', gaps, ctx.signal, () => findDeployment(client, cfg, shown)),
    cfg.hpa ? optional('hpa', gaps, ctx.signal, () => readHpa(client, cfg.namespace, cfg.hpa!)) : null,
    optional('events', gaps, ctx.signal, () => readPodEvents(client, cfg.namespace, podNames, win)),
    optional('metrics', gaps, ctx.signal, () => readPodMemory(client, cfg.namespace, selector)),
  ]);
  if (events?.cut) gaps.push({ kind: 'gap', part: 'events', error: events.cut });
  const rollout = deployment
    ? await optional('rollout', gaps, ctx.signal, () => readRollout(client, cfg.namespace, deployment, win))
    : null;
  const podRows = shown.map((p) => {
    const row = podEvidence(p, win);
    row.events = events?.byPod.get(row.name) ?? [];
    const used = memory?.get(row.name);
    for (const c of row.containers) {
      c.memory_bytes = used?.get(c.name) ?? null;
      if (c.memory_bytes !== null && c.memory_limit_bytes) {
        c.memory_ratio = Math.round((c.memory_bytes / c.memory_limit_bytes) * 1000) / 1000;
        c.at_memory_limit = c.memory_ratio >= cfg.memory_threshold;
      }
    }
    return row;
  });
  return [
    ...(endpoints ? [endpoints] : []),
    ...podRows,
    ...(rollout ? [rollout] : []),
    ...(hpa ? [hpa] : []),
    ...gaps,
  ];
}

function describe(
  ev: KubernetesEvidence[],
  cfg: KubernetesCheckConfig,
): { status: CheckStatus; summary: string } {
  const parts: string[] = [];
  const fails: boolean[] = [];
  const warns: boolean[] = [];
  const endpoints = ev.find((e): e is EndpointsEvidence => e.kind === 'endpoints');
  if (endpoints) {
    parts.push(
      `Service ${cfg.namespace}/${endpoints.service}: ${endpoints.ready} of ${endpoints.total} endpoints ready` +
        (endpoints.terminating ? `, ${endpoints.terminating} terminating` : '') +
        (endpoints.not_ready ? `, ${endpoints.not_ready} not ready` : ''),
    );
    fails.push(endpoints.ready === 0);
    warns.push(endpoints.terminating + endpoints.not_ready > 0);
  }
  const pods = ev.filter((e): e is PodEvidence => e.kind === 'pod');
  const oom = pods.flatMap((p) => recentOomKills(p).map((c) => ({ p, c })));
  const crashing = pods.filter((p) => p.containers.some((c) => c.reason === 'CrashLoopBackOff'));
  const restarted = pods.filter((p) => p.containers.some((c) => c.last_terminated?.recent));
  parts.push(
    `${pods.length} pod${pods.length === 1 ? '' : 's'}, ${pods.filter((p) => p.ready).length} ready` +
      (oom.length
        ? `; OOMKilled: ${oom.map(({ p, c }) => `${p.name} ${c.last_terminated?.minutes_before_onset} min before onset${c.memory_limit_bytes ? ` (limit ${formatBytes(c.memory_limit_bytes)})` : ''}`).join(', ')}`
        : '') +
      (crashing.length ? `; CrashLoopBackOff: ${crashing.map((p) => p.name).join(', ')}` : '') +
      (restarted.length > oom.length ? `; ${restarted.length} restarted recently` : ''),
  );
  fails.push(oom.length > 0, crashing.length > 0);
  warns.push(
    restarted.length > 0,
    pods.some((p) => p.events.some((e) => e.type === 'Warning')),
  );
  const rollout = ev.find((e): e is RolloutEvidence => e.kind === 'rollout');
  if (rollout) {
    const rev = rollout.revision ? ` revision ${rollout.revision}` : '';
    parts.push(
      rollout.state === 'complete'
        ? `Deployment ${rollout.deployment}${rev} fully rolled out (${rollout.available}/${rollout.desired} available)`
        : `Deployment ${rollout.deployment}${rev} ${rollout.state}: ${rollout.updated} of ${rollout.desired} updated, ${rollout.available} available${rollout.minutes_before_onset !== null ? `, started ${rollout.minutes_before_onset} min before onset` : ''}`,
    );
    fails.push(rollout.state === 'failed');
    warns.push(rollout.state === 'progressing');
  }
  const hpa = ev.find((e): e is HpaEvidence => e.kind === 'hpa');
  if (hpa) {
    const metrics = hpa.metrics
      .map((m) =>
        m.current_utilisation !== null && m.target_utilisation !== null
          ? `${m.name} ${Math.round(m.current_utilisation * 100)}% of request (target ${Math.round(m.target_utilisation * 100)}%)`
          : `${m.name} ${m.current_value ?? '?'} (target ${m.target_value ?? '?'})`,
      )
      .join(', ');
    parts.push(
      `HPA ${hpa.name} ${hpa.current}/${hpa.max} replicas${hpa.at_max ? ' (at maxReplicas)' : ''}${metrics ? `, ${metrics}` : ''}${hpa.inactive ? `, not scaling (${hpa.inactive})` : ''}`,
    );
    warns.push((hpa.at_max && hpa.metrics.some(overTarget)) || hpa.inactive !== null);
  }
  for (const g of ev.filter((e): e is KubernetesGap => e.kind === 'gap')) {
    parts.push(`${g.part} unreadable: ${g.error}`);
    warns.push(true);
  }
  const status: CheckStatus = fails.some(Boolean) ? 'fail' : warns.some(Boolean) ? 'warn' : 'ok';
  return { status, summary: `${parts.join('; ')}.` };
}

/**
 * The cluster's view of the service: EndpointSlices (ready / serving /
 * terminating), the pods behind them (readiness, restarts, OOM kills, kubelet
 * events), the owning Deployment's rollout and the HPA. Read-only GETs;
 * endpoints and pods are required, the rest is reported as a gap when it
 * cannot be read.
 */
export const kubernetesCheck: Check<'kubernetes', KubernetesEvidence> = {
  name: 'kubernetes',
  async run(cfg, ctx): Promise<CheckOutput<KubernetesEvidence>> {
    const creds = await resolveCredentials(cfg, ctx.env);
    const client = kubeClient(creds, {
      timeoutMs: Math.min(cfg.timeout_ms, ctx.timeoutMs),
      signal: ctx.signal,
    });
    try {
      const evidence = await gather(client, cfg, ctx);
      return { ...describe(evidence, cfg), evidence };
    } finally {
      await client.close();
    }
  },
};
