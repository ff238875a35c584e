import { z } from 'zod';
import type { KubeClient } from './client.js';
import { LIST_LIMIT } from './client.js';

const EndpointSliceListSchema = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string() }),
      endpoints: z
        .array(
          z.object({
            addresses: z.array(z.string()),
            conditions: z
              .object({
                ready: z.boolean().nullish(),
                serving: z.boolean().nullish(),
                terminating: z.boolean().nullish(),
              })
              .nullish(),
            targetRef: z.object({ kind: z.string().nullish(), name: z.string() }).nullish(),
            nodeName: z.string().nullish(),
          }),
        )
        .nullish(),
    }),
  ),
});

export interface EndpointState {
  address: string;
  pod: string | null;
  node: string | null;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface EndpointsEvidence {
  kind: 'endpoints';
  service: string;
  slices: number;
  total: number;
  ready: number;
  /** Being deleted: still draining (serving) or already gone from service. */
  terminating: number;
  /** Neither ready nor terminating: readiness failing. */
  not_ready: number;
  /** The first endpoints, for the message; counts above cover all. */
  endpoints: EndpointState[];
}

const SHOWN = 50;

/**
 * The Service's EndpointSlices, merged (a Service may have several). An
 * unknown (nil) `ready` or `serving` counts as true and `terminating` as
 * false, as the discovery.k8s.io/v1 API tells consumers to read them.
 */
export async function readEndpoints(
  client: KubeClient,
  namespace: string,
  service: string,
): Promise<EndpointsEvidence> {
  const list = await client.get(
    `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
    { labelSelector: `kubernetes.io/service-name=${service}`, limit: String(LIST_LIMIT) },
    EndpointSliceListSchema,
  );
  const all: EndpointState[] = list.items.flatMap((slice) =>
    (slice.endpoints ?? []).map((e) => ({
      address: e.addresses[0] ?? '',
      pod: e.targetRef?.kind === 'Pod' || !e.targetRef?.kind ? (e.targetRef?.name ?? null) : null,
      node: e.nodeName ?? null,
      ready: e.conditions?.ready ?? true,
      serving: e.conditions?.serving ?? e.conditions?.ready ?? true,
      terminating: e.conditions?.terminating ?? false,
    })),
  );
  return {
    kind: 'endpoints',
    service,
    slices: list.items.length,
    total: all.length,
    ready: all.filter((e) => e.ready && !e.terminating).length,
    terminating: all.filter((e) => e.terminating).length,
    not_ready: all.filter((e) => !e.ready && !e.terminating).length,
    endpoints: all.slice(0, SHOWN),
  };
}
