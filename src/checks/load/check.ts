import { setTimeout as sleep } from 'node:timers/promises';
import { sizeText } from '../../bounded-body.js';
import { errorMessage } from '../../errors.js';
import type { LoadCheckConfig } from '../../playbooks/schema.js';
import { classifyNetworkError } from '../net-errors.js';
import type { Check, CheckContext, CheckOutput, CheckStatus } from '../types.js';
import { BODY_LIMITS, fetchText, instanceOf, type Snapshot } from './fetch.js';
import { queryInstances } from './prometheus.js';
import { figuresFromOneScrape, figuresFromScrapes } from './scrape.js';
import { type StubStatusFigures, stubStatusFigures } from './stub-status.js';

export type { StubStatusFigures } from './stub-status.js';

export type LoadSource = 'prometheus' | 'node_exporter' | 'process' | 'stub_status';
export type LoadResource = 'cpu' | 'memory';

/** One instance as one source sees it. Utilisations are fractions of capacity (0..1, above 1 when over-committed). */
export interface LoadEvidence {
  /** host:port: Prometheus's `instance` label, or the scraped endpoint. */
  instance: string;
  source: LoadSource;
  /** The Prometheus base URL or the scraped URL the figures came from. */
  endpoint: string;
  status: CheckStatus;
  cpu: number | null;
  memory: number | null;
  /** 1-minute load average per CPU (hosts only); above 2 the node-mixin calls the host saturated. */
  load: number | null;
  /** The CPU capacity `cpu` is a fraction of: the host's CPUs, or the playbook's `cores` for a process. */
  cpu_cores: number | null;
  /** Memory in use, in bytes, when the source says. */
  memory_bytes: number | null;
  /** nginx stub_status figures (stub_status rows only). */
  connections: StubStatusFigures | null;
  /** A Node process's event-loop lag in seconds (p99 between the scrapes); over `loop_lag_ms` the process is CPU-bound. */
  loop_lag_s: number | null;
  /** Seconds since the scraped process started: a recent restart (process rows only). */
  uptime_s?: number | null;
  /** Resident memory growth between the two scrapes, bytes a second (process rows only). */
  memory_growth_bytes_per_s?: number | null;
  /** The memory capacity `memory` is a fraction of, when the playbook gives one. */
  memory_limit_bytes?: number | null;
  thresholds: Record<LoadResource, number> & { loop_lag_ms?: number };
  /** The resources above their threshold. */
  over: LoadResource[];
  error: string | null;
  /** Set when the endpoint's answer was cut at this many bytes; the figures come from what was read. */
  truncated_at_bytes?: number;
  /**
   * The endpoint did not answer a read within the playbook's `timeout_ms` (this many ms): the
   * instance is busy or hung. Evidence, not a failure to read: the row's status is `fail`.
   */
  unanswered_ms?: number;
}

/** The node-mixin's NodeSystemSaturation threshold: load1 per CPU above 2. */
const LOAD_PER_CPU_SATURATED = 2;

type Figures = Pick<
  LoadEvidence,
  | 'cpu'
  | 'memory'
  | 'load'
  | 'cpu_cores'
  | 'memory_bytes'
  | 'connections'
  | 'loop_lag_s'
  | 'uptime_s'
  | 'memory_growth_bytes_per_s'
  | 'memory_limit_bytes'
>;

/** Over its lag threshold, a process's event loop never idles: it is CPU-bound, whatever share of a core it gets. */
export function loopSaturated(e: Pick<LoadEvidence, 'loop_lag_s' | 'thresholds'>): boolean {
  return (
    e.loop_lag_s !== null && e.loop_lag_s * 1000 >= (e.thresholds.loop_lag_ms ?? Number.POSITIVE_INFINITY)
  );
}

function row(
  base: { instance: string; source: LoadSource; endpoint: string },
  figures: Partial<Figures>,
  config: LoadCheckConfig,
  error: string | null = null,
): LoadEvidence {
  const f: Figures = {
    cpu: figures.cpu ?? null,
    memory: figures.memory ?? null,
    load: figures.load ?? null,
    cpu_cores: figures.cpu_cores ?? null,
    memory_bytes: figures.memory_bytes ?? null,
    connections: figures.connections ?? null,
    loop_lag_s: figures.loop_lag_s ?? null,
    uptime_s: figures.uptime_s ?? null,
    memory_growth_bytes_per_s: figures.memory_growth_bytes_per_s ?? null,
    memory_limit_bytes: figures.memory_limit_bytes ?? null,
  };
  const thresholds = { ...config.thresholds };
  const over = (['cpu', 'memory'] as const).filter((r) => {
    const v = f[r];
    if (r === 'cpu' && loopSaturated({ loop_lag_s: f.loop_lag_s, thresholds })) return true;
    return v !== null && v > config.thresholds[r];
  });
  const strained = (f.load ?? 0) > LOAD_PER_CPU_SATURATED || (f.connections?.dropped ?? 0) > 0;
  const status: CheckStatus = error ? 'error' : over.length > 0 ? 'fail' : strained ? 'warn' : 'ok';
  return { ...base, status, ...f, thresholds, over, error };
}

async function fromPrometheus(
  config: LoadCheckConfig,
  ctx: CheckContext,
  timeoutMs: number,
  authorization: string | undefined,
) {
  const endpoint = config.prometheus;
  if (!endpoint) return [];
  const base = { source: 'prometheus' as const, endpoint };
  try {
    const instances = await queryInstances(endpoint, config.queries, {
      timeoutMs,
      signal: ctx.signal,
      selector: config.selector,
      authorization,
    });
    if (instances.size === 0)
      return [
        row(
          { ...base, instance: instanceOf(endpoint) },
          {},
          config,
          `the queries matched no series${config.selector ? ` for {${config.selector}}` : ''}`,
        ),
      ];
    return [...instances].map(([instance, f]) =>
      row({ ...base, instance }, { cpu: f.cpu, memory: f.memory, load: f.load, cpu_cores: f.cores }, config),
    );
  } catch (err) {
    ctx.log.warn({ endpoint, err: errorMessage(err) }, 'prometheus query failed');
    return [row({ ...base, instance: instanceOf(endpoint) }, {}, config, errorMessage(err))];
  }
}

type Endpoint = { url: string; kind: 'scrape' | 'stub_status' };

/** One endpoint's row from its two reads; it says so when an answer was cut at the endpoint's cap. */
function fromSnapshots(
  e: Endpoint,
  first: PromiseSettledResult<Snapshot>,
  second: PromiseSettledResult<Snapshot>,
  config: LoadCheckConfig,
): LoadEvidence {
  const row = figuresOfSnapshots(e, first, second, config);
  const cut = [first, second].some((r) => r.status === 'fulfilled' && r.value.truncated);
  return cut ? { ...row, truncated_at_bytes: BODY_LIMITS[e.kind] } : row;
}

function figuresOfSnapshots(
  e: Endpoint,
  first: PromiseSettledResult<Snapshot>,
  second: PromiseSettledResult<Snapshot>,
  config: LoadCheckConfig,
): LoadEvidence {
  const instance = instanceOf(e.url);
  const failed = [first, second].find((r) => r.status === 'rejected');
  const source: LoadSource = e.kind === 'stub_status' ? 'stub_status' : 'process';
  const hang = unanswered(first, second, config);
  if (hang !== null) return hungRow({ instance, source, endpoint: e.url }, first, hang, config);
  if (failed || first.status !== 'fulfilled' || second.status !== 'fulfilled')
    return row({ instance, source, endpoint: e.url }, {}, config, errorMessage(failed?.reason));
  if (e.kind === 'stub_status') {
    const connections = stubStatusFigures(first.value, second.value);
    return row(
      { instance, source, endpoint: e.url },
      { connections },
      config,
      connections ? null : 'not an nginx stub_status page',
    );
  }
  const figures = figuresFromScrapes(first.value, second.value, {
    cores: config.cores,
    memoryLimitBytes: config.memory_limit_bytes,
  });
  if (!figures)
    return row(
      { instance, source, endpoint: e.url },
      {},
      config,
      'exposes neither node_cpu_ nor process_cpu_ metrics',
    );
  const { source: scraped, ...rest } = figures;
  const limit = scraped === 'process' ? (config.memory_limit_bytes ?? null) : null;
  return row({ instance, source: scraped, endpoint: e.url }, { ...rest, memory_limit_bytes: limit }, config);
}

/** The read that did not answer within the playbook's `timeout_ms`, as that many ms; null when none hung. */
function unanswered(
  first: PromiseSettledResult<Snapshot>,
  second: PromiseSettledResult<Snapshot>,
  config: LoadCheckConfig,
): number | null {
  if (config.timeout_ms === undefined) return null;
  const hung = [first, second].some(
    (r) => r.status === 'rejected' && classifyNetworkError(r.reason) === 'timeout',
  );
  return hung ? config.timeout_ms : null;
}

/**
 * An instance whose metrics endpoint hung: what the first read gave when it answered (a
 * Node process's event-loop lag says CPU-bound by itself), and the hang, as evidence.
 */
function hungRow(
  base: { instance: string; source: LoadSource; endpoint: string },
  first: PromiseSettledResult<Snapshot>,
  ms: number,
  config: LoadCheckConfig,
): LoadEvidence {
  const said =
    first.status === 'fulfilled' && base.source === 'process'
      ? figuresFromOneScrape(first.value, { memoryLimitBytes: config.memory_limit_bytes })
      : null;
  const words = `no answer within ${ms} ms: busy or hung`;
  if (!said) return { ...row(base, {}, config, words), status: 'fail', unanswered_ms: ms };
  const cores = said.source === 'process' ? config.cores : said.figures.cpu_cores;
  const r = row({ ...base, source: said.source }, { ...said.figures, cpu_cores: cores }, config);
  return { ...r, status: 'fail', unanswered_ms: ms };
}

/** Reads every scrape and stub_status endpoint twice, `sample_interval_ms` apart, for rates. */
async function fromEndpoints(
  config: LoadCheckConfig,
  ctx: CheckContext,
  timeoutMs: number,
  authorization: string | undefined,
) {
  const endpoints: Endpoint[] = [
    ...(config.scrape ?? []).map((url) => ({ url, kind: 'scrape' as const })),
    ...(config.stub_status ?? []).map((url) => ({ url, kind: 'stub_status' as const })),
  ];
  if (endpoints.length === 0) return [];
  // A hang past the playbook's timeout_ms (the proxy's own) is known: no need to wait longer.
  const readMs = config.timeout_ms === undefined ? timeoutMs : Math.min(timeoutMs, config.timeout_ms);
  const read = () =>
    Promise.allSettled(
      endpoints.map((e) =>
        fetchText(e.url, readMs, ctx.signal, { maxBytes: BODY_LIMITS[e.kind], authorization }),
      ),
    );
  // The second read starts one interval after the first began, not after it answered: a busy
  // instance's slow first answer must not add to the verdict's time. A quarter interval after
  // the first answer at least, so the two readings never come back together.
  const firstRead = read();
  const [first] = await Promise.all([
    firstRead,
    sleep(config.sample_interval_ms, undefined, { signal: ctx.signal }),
    firstRead.then(() => sleep(config.sample_interval_ms / 4, undefined, { signal: ctx.signal })),
  ]);
  const second = await read();
  return endpoints.map((e, i) => fromSnapshots(e, first[i]!, second[i]!, config));
}

function instances(n: number): string {
  return `${n} instance${n === 1 ? '' : 's'}`;
}

function percent(n: number | null): string {
  return n === null ? '?' : `${Math.round(n * 100)}%`;
}

function describe(evidence: readonly LoadEvidence[]): string {
  const over = evidence.filter((e) => e.over.length > 0);
  const errored = evidence.filter((e) => e.error);
  const measured = evidence.filter((e) => !e.error);
  const parts: string[] = [];
  if (over.length > 0)
    parts.push(
      `${over.length} of ${instances(measured.length)} over threshold: ${over
        .map(
          (e) =>
            `${e.instance} ${e.over.map((r) => (r === 'cpu' && loopSaturated(e) ? `cpu-bound (event loop lag ${Math.round((e.loop_lag_s ?? 0) * 1000)} ms at ${percent(e.cpu)} CPU)` : `${r} ${percent(e[r])} > ${percent(e.thresholds[r])}`)).join(', ')}`,
        )
        .join('; ')}`,
    );
  else if (measured.length > 0) {
    const max = (r: LoadResource) => {
      const values = measured.map((e) => e[r]).filter((v): v is number => v !== null);
      return values.length ? percent(Math.max(...values)) : null;
    };
    const peaks = [max('cpu') && `cpu ${max('cpu')}`, max('memory') && `memory ${max('memory')}`].filter(
      Boolean,
    );
    parts.push(
      `${instances(measured.length)} under thresholds${peaks.length ? ` (peak ${peaks.join(', ')})` : ''}`,
    );
  }
  for (const e of measured.filter((m) => m.status === 'warn'))
    parts.push(
      e.connections?.dropped
        ? `${e.instance} dropped ${e.connections.dropped} connections`
        : `${e.instance} load ${e.load} per CPU`,
    );
  for (const e of errored) parts.push(`${e.source} ${e.endpoint}: ${e.error}`);
  for (const e of evidence.filter((r) => r.unanswered_ms !== undefined && !r.error))
    parts.push(`${e.endpoint} did not answer its second read within ${e.unanswered_ms} ms: busy or hung`);
  for (const e of evidence.filter((r) => r.truncated_at_bytes !== undefined))
    parts.push(
      `${e.endpoint} answered more than gatewatch reads: cut at ${sizeText(e.truncated_at_bytes ?? 0)}`,
    );
  return parts.join('; ');
}

function overall(evidence: readonly LoadEvidence[]): CheckStatus {
  if (evidence.some((e) => e.status === 'fail')) return 'fail';
  if (evidence.length > 0 && evidence.every((e) => e.status === 'error')) return 'error';
  if (evidence.some((e) => e.status === 'warn' || e.status === 'error')) return 'warn';
  return 'ok';
}

export const loadCheck: Check<'load', LoadEvidence> = {
  name: 'load',
  async run(config, ctx): Promise<CheckOutput<LoadEvidence>> {
    if (!config.prometheus && !config.scrape?.length && !config.stub_status?.length)
      return { status: 'skipped', summary: 'no prometheus, scrape or stub_status configured', evidence: [] };
    // Each read must leave room for the second round of scrapes inside the check's budget.
    const timeoutMs = Math.max(200, Math.min(5000, (ctx.timeoutMs - config.sample_interval_ms) / 2));
    const authorization = config.authorization_env ? ctx.env[config.authorization_env] : undefined;
    if (config.authorization_env && !authorization)
      return {
        status: 'error',
        summary: `${config.authorization_env} is not set: it should hold the Authorization header value for the load endpoints`,
        evidence: [],
      };
    const [prom, endpoints] = await Promise.all([
      fromPrometheus(config, ctx, timeoutMs, authorization),
      fromEndpoints(config, ctx, timeoutMs, authorization),
    ]);
    const evidence = [...prom, ...endpoints];
    return { status: overall(evidence), summary: describe(evidence), evidence };
  },
};
