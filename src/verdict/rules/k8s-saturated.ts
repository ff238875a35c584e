import { type HpaMetric, overTarget } from '../../checks/kubernetes/hpa.js';
import { suggestedInstances, targetUtilisation } from '../capacity.js';
import { clamp, percent, troubleSeen } from '../evidence.js';
import { kubeHpa, measuredMemory } from '../kubernetes.js';
import type { Capacity, Evidence, Rule } from '../types.js';

/** The memory threshold a pod's at_memory_limit was judged by (the check's default). */
const MEMORY_THRESHOLD = 0.9;

/**
 * Every measured ready pod at its memory limit (at least two thirds of them,
 * and two or more pods): a steady working set at the limit, the fleet's
 * memory exhausted. Null when memory was not measured.
 */
export function memorySaturation(ev: Evidence): { capacity: Capacity; text: string } | null {
  const rows = measuredMemory(ev);
  const pods = new Set(rows.map((r) => r.pod.name));
  const hot = rows.filter((r) => r.container.at_memory_limit);
  if (pods.size < 2 || hot.length < (rows.length * 2) / 3) return null;
  const mean = rows.reduce((a, r) => a + (r.container.memory_ratio ?? 0), 0) / rows.length;
  const target = targetUtilisation(MEMORY_THRESHOLD);
  return {
    capacity: {
      resource: 'memory',
      instances: pods.size,
      utilisation: Math.round(mean * 1000) / 1000,
      target_utilisation: target,
      suggested_instances: suggestedInstances(pods.size, mean, target),
    },
    text: `${hot.length} of ${rows.length} pods at ${percent(mean)} of their memory limit on average`,
  };
}

/** The HPA metric furthest over its utilisation target. */
function hottestMetric(metrics: readonly HpaMetric[]): HpaMetric | null {
  const over = metrics.filter(
    (m) => overTarget(m) && m.current_utilisation !== null && m.target_utilisation !== null,
  );
  over.sort(
    (a, b) => b.current_utilisation! / b.target_utilisation! - a.current_utilisation! / a.target_utilisation!,
  );
  return over[0] ?? null;
}

/**
 * The replicas are saturated: the HPA's metric over its target (CPU at 187% of
 * request against 50%), or every pod's working set at its memory limit, while
 * users see 502s or timeouts. Capacity is in replicas; when the HPA is already
 * at maxReplicas it cannot add them itself, and the action says so.
 */
export const k8sSaturated: Rule = (ev) => {
  const hpa = kubeHpa(ev);
  const seen = troubleSeen(ev);
  if (seen === false) return null;
  const metric = hpa ? hottestMetric(hpa.metrics) : null;
  const memory = memorySaturation(ev);
  if (!metric && !memory) return null;
  const capacity: Capacity =
    metric && hpa
      ? {
          resource: metric.name,
          instances: hpa.current,
          utilisation: metric.current_utilisation!,
          target_utilisation: metric.target_utilisation!,
          suggested_instances: suggestedInstances(
            hpa.current,
            metric.current_utilisation!,
            metric.target_utilisation!,
          ),
        }
      : memory!.capacity;
  const load = metric
    ? `${metric.name} at ${percent(metric.current_utilisation!)} of request against the HPA's ${percent(metric.target_utilisation!)} target across ${hpa!.current} replicas`
    : memory!.text;
  const atMax = hpa?.at_max ?? false;
  const more = capacity.suggested_instances;
  const hpaAction = !hpa
    ? `Scale the Deployment to ${more} replicas (kubectl scale --replicas=${more}), or give each pod more ${capacity.resource}.`
    : atMax
      ? `The HPA ${hpa.name} is already at maxReplicas (${hpa.max}) and cannot add replicas: raise maxReplicas to at least ${more} (\`kubectl patch hpa ${hpa.name} -p '{"spec":{"maxReplicas":${more}}}'\`), and make sure the nodes have room for ${more - hpa.current} more pods (node pool size, cluster-autoscaler limits).`
      : `The HPA ${hpa.name} is scaling (${hpa.current} → ${hpa.desired} of at most ${hpa.max}); if ${more} replicas are more than it will reach soon, raise minReplicas to ${Math.min(more, hpa.max)} for now.`;
  return {
    cause: 'upstream_saturated',
    confidence: clamp((seen === true ? 0.75 : 0.55) + (atMax ? 0.1 : 0) + (metric && memory ? 0.05 : 0)),
    summary: `The replicas are saturated: ${load}${atMax ? `, and the HPA is at its maximum of ${hpa!.max} replicas` : ''}${seen === true ? '; requests fail' : ''}.`,
    actions: [
      hpaAction,
      ...(memory && metric ? [`Memory is at the limit too: ${memory.text}.`] : []),
      'Until the new replicas serve: shed load (rate-limit the heaviest clients, switch off costly features).',
    ],
    capacity,
  };
};
