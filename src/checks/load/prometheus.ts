import { request } from 'undici';
import { z } from 'zod';
import { MiB, readBounded, sizeText } from '../../bounded-body.js';
import { GatewatchError } from '../../errors.js';

/** An instant vector this large is a query matching far more series than instances: not parsed. */
const MAX_ANSWER_BYTES = 4 * MiB;

/**
 * node_exporter's node-mixin expressions without its `job="node"` selector (jobs
 * are named freely). The rate window is 1m, not the mixin's 5m: a 502 triage wants now.
 */
export const DEFAULT_QUERIES = {
  cpu: '1 - avg without (cpu) (sum without (mode) (rate(node_cpu_seconds_total{mode=~"idle|iowait|steal"}[1m])))',
  memory:
    '1 - ((node_memory_MemAvailable_bytes or (node_memory_Buffers_bytes + node_memory_Cached_bytes + node_memory_MemFree_bytes + node_memory_Slab_bytes)) / node_memory_MemTotal_bytes)',
  load: 'node_load1 / count without (cpu, mode) (node_cpu_seconds_total{mode="idle"})',
  cores: 'count without (cpu, mode) (node_cpu_seconds_total{mode="idle"})',
} as const;

export type PrometheusFigure = keyof typeof DEFAULT_QUERIES;

/**
 * Scopes a query to the playbook's instances: the label matchers join every
 * `node_…` selector of the default queries, and replace `$selector` in the
 * playbook's own. Without it every node Prometheus scrapes would be "the fleet".
 */
export function scoped(query: string, selector: string | undefined): string {
  if (!selector) return query.replaceAll('$selector', '');
  if (query.includes('$selector')) return query.replaceAll('$selector', selector);
  return query.replace(/\b(node_[A-Za-z0-9_]+)(?:\{([^}]*)\})?/g, (_, name: string, inner?: string) =>
    inner ? `${name}{${inner},${selector}}` : `${name}{${selector}}`,
  );
}

// Sample values are strings so that NaN and ±Inf survive JSON.
const VectorResponse = z.object({
  status: z.enum(['success', 'error']),
  data: z
    .object({
      resultType: z.string(),
      result: z.array(
        z.object({
          metric: z.record(z.string(), z.string()),
          value: z.tuple([z.number(), z.string()]).optional(),
        }),
      ),
    })
    .optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
});

export interface QueryOptions {
  timeoutMs: number;
  signal: AbortSignal;
  /** The `Authorization` header value, from the playbook's `authorization_env`. */
  authorization?: string;
}

export interface InstantSample {
  labels: Record<string, string>;
  value: number;
}

/** One instant query (`/api/v1/query`, POSTed so long expressions fit); a vector or an error. */
export async function instantQuery(
  base: string,
  query: string,
  opts: QueryOptions,
): Promise<InstantSample[]> {
  const url = new URL('api/v1/query', base.endsWith('/') ? base : `${base}/`);
  const res = await request(url, {
    method: 'POST',
    body: new URLSearchParams({ query }).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'gatewatch/load-check',
      ...(opts.authorization ? { authorization: opts.authorization } : {}),
    },
    signal: AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]),
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });
  const { text, truncated } = await readBounded(res.body, MAX_ANSWER_BYTES);
  if (truncated)
    throw new GatewatchError(
      'CHECK_FAILED',
      `Prometheus answered over ${sizeText(MAX_ANSWER_BYTES)}: cut, not parsed (narrow the query)`,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new GatewatchError('CHECK_FAILED', `Prometheus answered HTTP ${res.statusCode} with no JSON`, {
      retryable: res.statusCode >= 500,
    });
  }
  const parsed = VectorResponse.safeParse(json);
  if (!parsed.success)
    throw new GatewatchError(
      'CHECK_FAILED',
      `Prometheus answered an unexpected shape: ${parsed.error.message}`,
    );
  const body = parsed.data;
  if (body.status === 'error' || res.statusCode >= 300)
    throw new GatewatchError(
      'CHECK_FAILED',
      `Prometheus rejected the query (${body.errorType ?? `HTTP ${res.statusCode}`}): ${body.error ?? ''}`,
      { retryable: res.statusCode >= 500 },
    );
  if (body.data?.resultType !== 'vector')
    throw new GatewatchError(
      'CHECK_FAILED',
      `query must give an instant vector, got ${body.data?.resultType ?? 'nothing'}: ${query}`,
      { retryable: false },
    );
  return body.data.result
    .filter((r) => r.value !== undefined)
    .map((r) => ({ labels: r.metric, value: Number(r.value?.[1]) }))
    .filter((r) => Number.isFinite(r.value));
}

export type InstanceFigures = Partial<Record<PrometheusFigure, number>>;

/** The instance a series belongs to: its `instance` label, else all its labels. */
function instanceKey(labels: Record<string, string>): string {
  if (labels.instance) return labels.instance;
  const { __name__: _, ...rest } = labels;
  return JSON.stringify(rest);
}

/** Runs the cpu, memory, load (and cores) queries and joins their answers per instance. */
export async function queryInstances(
  base: string,
  overrides: Partial<Record<'cpu' | 'memory' | 'load', string | undefined>> | undefined,
  opts: QueryOptions & { selector?: string },
): Promise<Map<string, InstanceFigures>> {
  const figures = Object.keys(DEFAULT_QUERIES) as PrometheusFigure[];
  const answers = await Promise.all(
    figures.map(async (figure) => {
      const query = (figure !== 'cores' ? overrides?.[figure] : undefined) ?? DEFAULT_QUERIES[figure];
      return [figure, await instantQuery(base, scoped(query, opts.selector), opts)] as const;
    }),
  );
  const byInstance = new Map<string, InstanceFigures>();
  for (const [figure, samples] of answers)
    for (const s of samples) {
      const key = instanceKey(s.labels);
      byInstance.set(key, { ...byInstance.get(key), [figure]: s.value });
    }
  return byInstance;
}
