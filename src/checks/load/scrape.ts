import { round } from '../stats.js';
import { type ExpositionSample, parseExposition, sumOf } from './exposition.js';
import type { Snapshot } from './fetch.js';

/** What two scrapes of one exposition endpoint say about its instance. */
export interface ScrapeFigures {
  source: 'node_exporter' | 'process';
  /** 0..1 of the CPU capacity: the host's CPUs (node_exporter) or `cores` (a process). */
  cpu: number | null;
  /** 0..1: MemTotal less MemAvailable (node_exporter), or RSS of `memory_limit_bytes` (a process). */
  memory: number | null;
  /** node_load1 per CPU (node_exporter only). */
  load: number | null;
  cpu_cores: number | null;
  memory_bytes: number | null;
  /** A Node process's event-loop lag, p99 since the previous scrape (prom-client resets it on each). */
  loop_lag_s: number | null;
  /** Seconds since the process started (`process_start_time_seconds`): a recent restart shows here. */
  uptime_s?: number | null;
  /** How fast the process's resident memory grew between the two scrapes, bytes a second. */
  memory_growth_bytes_per_s?: number | null;
}

const IDLE_MODES = new Set(['idle', 'iowait', 'steal']);

function nodeFigures(first: ExpositionSample[], second: ExpositionSample[]): ScrapeFigures {
  const cpus = new Set(
    second
      .filter((s) => s.name === 'node_cpu_seconds_total' && s.labels.mode === 'idle')
      .map((s) => s.labels.cpu),
  ).size;
  const idle = (samples: ExpositionSample[]) =>
    sumOf(samples, 'node_cpu_seconds_total', (l) => IDLE_MODES.has(l.mode ?? '')) ?? 0;
  const total = (samples: ExpositionSample[]) => sumOf(samples, 'node_cpu_seconds_total') ?? 0;
  const busyTotal = total(second) - total(first);
  // Counters advance in 1/USER_HZ steps: with no tick between the scrapes there is no rate to give.
  const cpu = busyTotal > 0 ? 1 - (idle(second) - idle(first)) / busyTotal : null;
  const available = sumOf(second, 'node_memory_MemAvailable_bytes');
  const memTotal = sumOf(second, 'node_memory_MemTotal_bytes');
  const load1 = sumOf(second, 'node_load1');
  return {
    source: 'node_exporter',
    cpu: cpu === null ? null : round(Math.min(1, Math.max(0, cpu)), 3),
    memory: available !== null && memTotal ? round(1 - available / memTotal, 3) : null,
    load: load1 !== null && cpus > 0 ? round(load1 / cpus, 3) : null,
    cpu_cores: cpus || null,
    memory_bytes: available !== null && memTotal !== null ? memTotal - available : null,
    loop_lag_s: null,
  };
}

function processFigures(
  first: Snapshot & { samples: ExpositionSample[] },
  second: Snapshot & { samples: ExpositionSample[] },
  opts: { cores: number; memoryLimitBytes?: number },
): ScrapeFigures {
  const cpu0 = sumOf(first.samples, 'process_cpu_seconds_total');
  const cpu1 = sumOf(second.samples, 'process_cpu_seconds_total');
  const seconds = (second.at - first.at) / 1000;
  const rss = sumOf(second.samples, 'process_resident_memory_bytes');
  const rss0 = sumOf(first.samples, 'process_resident_memory_bytes');
  const started = sumOf(second.samples, 'process_start_time_seconds');
  return {
    source: 'process',
    cpu:
      cpu0 !== null && cpu1 !== null && seconds > 0
        ? round(Math.max(0, cpu1 - cpu0) / seconds / opts.cores, 3)
        : null,
    memory: rss !== null && opts.memoryLimitBytes ? round(rss / opts.memoryLimitBytes, 3) : null,
    load: null,
    cpu_cores: opts.cores,
    memory_bytes: rss,
    loop_lag_s: sumOf(second.samples, 'nodejs_eventloop_lag_p99_seconds'),
    // `at` is performance.now(): on the epoch clock it is timeOrigin + at.
    uptime_s:
      started !== null ? round(Math.max(0, (performance.timeOrigin + second.at) / 1000 - started), 1) : null,
    memory_growth_bytes_per_s:
      rss !== null && rss0 !== null && seconds > 0 ? Math.round((rss - rss0) / seconds) : null,
  };
}

/**
 * Utilisation from two scrapes of the same endpoint: node_exporter's host
 * figures when it exposes `node_cpu_seconds_total`, else the process's own
 * `process_cpu_seconds_total` rate over `cores`. Null when it exposes neither.
 */
export function figuresFromScrapes(
  first: Snapshot,
  second: Snapshot,
  opts: { cores: number; memoryLimitBytes?: number },
): ScrapeFigures | null {
  const a = { ...first, samples: parseExposition(first.text) };
  const b = { ...second, samples: parseExposition(second.text) };
  if (b.samples.some((s) => s.name === 'node_cpu_seconds_total')) return nodeFigures(a.samples, b.samples);
  if (b.samples.some((s) => s.name === 'process_cpu_seconds_total')) return processFigures(a, b, opts);
  return null;
}

/**
 * What one scrape says on its own, when the second never came (the instance hung): no CPU
 * rate, but a Node process's event-loop lag (p99 since the scrape before, or since it
 * started), its memory, a host's memory and load. Null when it exposes neither kind.
 */
export function figuresFromOneScrape(
  snapshot: Snapshot,
  opts: { memoryLimitBytes?: number },
): { source: ScrapeFigures['source']; figures: Omit<ScrapeFigures, 'source'> } | null {
  const samples = parseExposition(snapshot.text);
  if (samples.some((s) => s.name === 'node_cpu_seconds_total')) {
    const { source, ...figures } = nodeFigures(samples, samples);
    return { source, figures: { ...figures, cpu: null } };
  }
  if (!samples.some((s) => s.name === 'process_cpu_seconds_total')) return null;
  // The one scrape as both reads: no time between them, so no CPU rate and no memory growth.
  const one = { ...snapshot, samples };
  const { source, ...figures } = processFigures(one, one, {
    cores: 1,
    memoryLimitBytes: opts.memoryLimitBytes,
  });
  return { source, figures: { ...figures, cpu_cores: null } };
}
