import { z } from 'zod';
import type { KubeClient } from './client.js';
import { apiStatus, LIST_LIMIT } from './client.js';
import { parseQuantity } from './quantity.js';

const PodMetricsListSchema = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string() }),
      containers: z.array(z.object({ name: z.string(), usage: z.record(z.string(), z.string()) })),
    }),
  ),
});

/**
 * Working-set memory per pod and container, from metrics-server
 * (metrics.k8s.io). Many clusters have none: null then, and memory is judged
 * from OOM kills alone.
 */
export async function readPodMemory(
  client: KubeClient,
  namespace: string,
  selector: string | undefined,
): Promise<Map<string, Map<string, number>> | null> {
  try {
    const list = await client.get(
      `/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods`,
      { ...(selector ? { labelSelector: selector } : {}), limit: String(LIST_LIMIT) },
      PodMetricsListSchema,
    );
    const out = new Map<string, Map<string, number>>();
    for (const p of list.items) {
      const containers = new Map<string, number>();
      for (const c of p.containers) {
        const bytes = parseQuantity(c.usage.memory);
        if (bytes !== null) containers.set(c.name, bytes);
      }
      out.set(p.metadata.name, containers);
    }
    return out;
  } catch (err) {
    const status = apiStatus(err);
    if (status === 404 || status === 403 || status === 503) return null;
    throw err;
  }
}
