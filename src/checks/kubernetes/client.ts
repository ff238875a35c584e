import { Agent, request } from 'undici';
import { z } from 'zod';
import { MiB, readBounded, sizeText } from '../../bounded-body.js';
import { errorMessage, GatewatchError } from '../../errors.js';
import type { KubeCredentials } from './auth.js';

/**
 * Objects per list page. A list scoped by a selector (one service's slices, pods, ReplicaSets) is read
 * in one page; a namespace-wide one (events) page by page, up to MAX_LIST_PAGES, and says when it was cut.
 */
export const LIST_LIMIT = 500;
/** Pages read at most of a namespace-wide list. */
export const MAX_LIST_PAGES = 10;
/** No answer from the API server is read past this size. */
const MAX_BODY_BYTES = 16 * MiB;

export interface KubeClient {
  /** GET a path with query parameters, validated against the schema. */
  get<T>(path: string, query: Record<string, string>, schema: z.ZodType<T>): Promise<T>;
  close(): Promise<void>;
}

/** How long a list may take page after page before it stops where it is (a slow API server). */
export const LIST_BUDGET_MS = 2000;

/**
 * A list read page by page (`limit`, `continue`); `cut` when objects remained after MAX_LIST_PAGES
 * pages or LIST_BUDGET_MS, so one huge list never costs the rest of the check its time.
 */
export async function listPages<T>(
  client: KubeClient,
  path: string,
  query: Record<string, string>,
  item: z.ZodType<T>,
): Promise<{ items: T[]; cut: boolean }> {
  const started = performance.now();
  const page = z.object({
    items: z.array(item),
    metadata: z.object({ continue: z.string().nullish() }).nullish(),
  });
  const items: T[] = [];
  let next: string | undefined;
  for (let i = 0; i < MAX_LIST_PAGES; i++) {
    const got = await client.get(
      path,
      { ...query, limit: String(LIST_LIMIT), ...(next ? { continue: next } : {}) },
      page,
    );
    items.push(...got.items);
    next = got.metadata?.continue || undefined;
    if (!next) return { items, cut: false };
    if (performance.now() - started > LIST_BUDGET_MS) break;
  }
  return { items, cut: true };
}

/** The HTTP status of a failed API call, when it got that far (404 for an HPA that does not exist). */
export function apiStatus(err: unknown): number | null {
  return err instanceof GatewatchError && typeof err.details?.status === 'number' ? err.details.status : null;
}

/** The API server's own words from a `Status` object, cut short: its message names the missing verb and resource. */
function statusMessage(text: string): string | null {
  try {
    const s = JSON.parse(text) as { kind?: string; message?: unknown };
    if (s.kind === 'Status' && typeof s.message === 'string') return s.message.slice(0, 300);
  } catch {}
  return null;
}

function failure(status: number, path: string, creds: KubeCredentials, text: string): GatewatchError {
  const said = statusMessage(text);
  const details = { status };
  if (status === 401)
    return new GatewatchError(
      'UNAUTHORIZED',
      `the API server rejected the credentials of ${creds.source} (401 Unauthorized)`,
      { details, retryable: false },
    );
  if (status === 403)
    return new GatewatchError(
      'UNAUTHORIZED',
      `forbidden (403): ${said ?? path}; grant get/list on it to gatewatch's ServiceAccount (docs/operations.md)`,
      { details, retryable: false },
    );
  return new GatewatchError('CHECK_FAILED', `GET ${path} answered ${status}${said ? `: ${said}` : ''}`, {
    details,
    retryable: status === 429 || status >= 500,
  });
}

/**
 * A read-only client of the Kubernetes REST API over undici: one GET per call,
 * JSON only, bounded in time and size. Plain HTTP on purpose: the check needs
 * six GETs, and the same code talks to a real API server and to the test's fake.
 */
export function kubeClient(
  creds: KubeCredentials,
  opts: { timeoutMs: number; signal: AbortSignal },
): KubeClient {
  const agent = new Agent({
    connect: {
      ca: creds.ca,
      cert: creds.cert,
      key: creds.key,
      rejectUnauthorized: !creds.insecureSkipTlsVerify,
    },
    keepAliveTimeout: 5000,
  });
  const base = creds.server.href.replace(/\/$/, '');
  return {
    async get(path, query, schema) {
      const qs = new URLSearchParams(query).toString();
      const url = `${base}${path}${qs ? `?${qs}` : ''}`;
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const token = await creds.token();
      let status: number;
      let text: string;
      try {
        const res = await request(url, {
          method: 'GET',
          dispatcher: agent,
          signal: AbortSignal.any([opts.signal, timeout]),
          headersTimeout: opts.timeoutMs,
          bodyTimeout: opts.timeoutMs,
          headers: {
            accept: 'application/json',
            'user-agent': 'gatewatch/kubernetes-check',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        });
        status = res.statusCode;
        const body = await readBounded(res.body, MAX_BODY_BYTES);
        if (body.truncated)
          throw new GatewatchError(
            'CHECK_FAILED',
            `GET ${path} answered more than ${sizeText(MAX_BODY_BYTES)}`,
            {
              retryable: false,
            },
          );
        text = body.text;
      } catch (err) {
        if (err instanceof GatewatchError) throw err;
        if (timeout.aborted)
          throw new GatewatchError(
            'CHECK_TIMEOUT',
            `the API server did not answer GET ${path} in ${opts.timeoutMs} ms`,
          );
        if (opts.signal.aborted) throw err;
        throw new GatewatchError(
          'CHECK_FAILED',
          `cannot reach the API server ${creds.server.host}: ${errorMessage(err)}`,
          {
            retryable: true,
            cause: err,
          },
        );
      }
      if (status < 200 || status > 299) throw failure(status, path, creds, text);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new GatewatchError('CHECK_FAILED', `GET ${path} did not answer JSON`, { retryable: false });
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new GatewatchError(
          'CHECK_FAILED',
          `GET ${path} answered an unexpected object: ${issue?.path.join('.')} ${issue?.message}`,
          { retryable: false },
        );
      }
      return parsed.data;
    },
    close: () => agent.destroy(),
  };
}
