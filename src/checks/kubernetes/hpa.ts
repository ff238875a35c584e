import { z } from 'zod';
import type { KubeClient } from './client.js';
import { parseQuantity } from './quantity.js';

const MetricTarget = z.object({
  type: z.string().nullish(),
  averageUtilization: z.number().nullish(),
  averageValue: z.string().nullish(),
  value: z.string().nullish(),
});
const MetricCurrent = MetricTarget.omit({ type: true });

/** autoscaling/v2 metric specs and statuses share this shape: a type and one source block. */
const metricOf = <T extends z.ZodTypeAny>(value: T) =>
  z.object({
    type: z.string(),
    resource: z.object({ name: z.string(), target: value.optional(), current: value.optional() }).nullish(),
    containerResource: z
      .object({ name: z.string(), target: value.optional(), current: value.optional() })
      .nullish(),
    pods: z
      .object({ metric: z.object({ name: z.string() }), target: value.optional(), current: value.optional() })
      .nullish(),
    object: z
      .object({ metric: z.object({ name: z.string() }), target: value.optional(), current: value.optional() })
      .nullish(),
    external: z
      .object({ metric: z.object({ name: z.string() }), target: value.optional(), current: value.optional() })
      .nullish(),
  });

const HpaSchema = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    minReplicas: z.number().int().nullish(),
    maxReplicas: z.number().int(),
    scaleTargetRef: z.object({ kind: z.string(), name: z.string() }),
    metrics: z.array(metricOf(MetricTarget)).nullish(),
  }),
  status: z
    .object({
      currentReplicas: z.number().int().nullish(),
      desiredReplicas: z.number().int().nullish(),
      currentMetrics: z.array(metricOf(MetricCurrent)).nullish(),
      conditions: z
        .array(
          z.object({
            type: z.string(),
            status: z.string(),
            reason: z.string().nullish(),
            message: z.string().nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
});

type Metric = z.infer<ReturnType<typeof metricOf<typeof MetricTarget>>>;

export interface HpaMetric {
  /** cpu, memory, or the custom metric's name. */
  name: string;
  type: string;
  /** Utilisation as a fraction of the pods' request (1.87 = 187%); null for value targets. */
  current_utilisation: number | null;
  target_utilisation: number | null;
  current_value: string | null;
  target_value: string | null;
}

export interface HpaEvidence {
  kind: 'hpa';
  name: string;
  target: string;
  min: number;
  max: number;
  current: number;
  desired: number;
  /** Running at maxReplicas: it cannot add more. */
  at_max: boolean;
  /** ScalingLimited's reason when True (TooManyReplicas = wants more than max). */
  limited: string | null;
  /** ScalingActive is False: it cannot read its metrics and does not scale at all. */
  inactive: string | null;
  metrics: HpaMetric[];
}

function source(m: Metric) {
  const s = m.resource ?? m.containerResource;
  if (s) return { name: s.name, target: s.target, current: s.current };
  const o = m.pods ?? m.object ?? m.external;
  return o ? { name: o.metric.name, target: o.target, current: o.current } : null;
}

const pct = (n: number | null | undefined) => (typeof n === 'number' ? n / 100 : null);

export async function readHpa(client: KubeClient, namespace: string, name: string): Promise<HpaEvidence> {
  const h = await client.get(
    `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers/${name}`,
    {},
    HpaSchema,
  );
  const conditions = h.status?.conditions ?? [];
  const cond = (type: string, status: string) =>
    conditions.find((c) => c.type === type && c.status === status);
  const current = h.status?.currentReplicas ?? 0;
  const metrics: HpaMetric[] = (h.spec.metrics ?? []).flatMap((spec) => {
    const s = source(spec);
    if (!s) return [];
    const status = (h.status?.currentMetrics ?? []).map(source).find((c) => c?.name === s.name);
    const cur = status?.current;
    return [
      {
        name: s.name,
        type: spec.type,
        current_utilisation: pct(cur?.averageUtilization),
        target_utilisation: pct(s.target?.averageUtilization),
        current_value: cur?.averageValue ?? cur?.value ?? null,
        target_value: s.target?.averageValue ?? s.target?.value ?? null,
      },
    ];
  });
  return {
    kind: 'hpa',
    name: h.metadata.name,
    target: `${h.spec.scaleTargetRef.kind}/${h.spec.scaleTargetRef.name}`,
    min: h.spec.minReplicas ?? 1,
    max: h.spec.maxReplicas,
    current,
    desired: h.status?.desiredReplicas ?? current,
    at_max: current >= h.spec.maxReplicas,
    limited: cond('ScalingLimited', 'True')?.reason ?? null,
    inactive: cond('ScalingActive', 'False')?.reason ?? null,
    metrics,
  };
}

/** A metric over its target: by utilisation, or by value when the target is a quantity. */
export function overTarget(m: HpaMetric): boolean {
  if (m.current_utilisation !== null && m.target_utilisation !== null)
    return m.current_utilisation > m.target_utilisation;
  const cur = parseQuantity(m.current_value);
  const target = parseQuantity(m.target_value);
  return cur !== null && target !== null && cur > target;
}
