import type { ProxyStatsConfig } from '../../../playbooks/schema.js';

/**
 * How the proxy says an upstream fails, in the words the verdict rules use;
 * `unhealthy` when the proxy marks it failed but does not say how.
 */
export type UpstreamFailure =
  | 'refused'
  | 'connect_timeout'
  | 'timeout'
  | 'reset'
  | 'http_5xx'
  | 'queue_full'
  | 'unhealthy';

export type UpstreamState = 'up' | 'down' | 'maint' | 'unknown';

/** One upstream server as the proxy sees it, from one read of its stats. */
export interface UpstreamView {
  /** The proxy's name for it: HAProxy server, Envoy host, Caddy dial address, Traefik server URL. */
  name: string;
  backend: string | null;
  /** host:port, when the proxy tells it (HAProxy's Prometheus endpoint does not). */
  address: string | null;
  state: UpstreamState;
  failure: UpstreamFailure | null;
  /** The proxy's own words: `L4CON Connection refused`, `/failed_active_hc`, `fails 1`. */
  detail: string;
  /** Cumulative counters (econ, eresp, hrsp_5xx, cx_connect_fail…): read twice for rates. */
  counters: Record<string, number>;
  /** Current values (qcur, scur, slim, num_requests…). */
  gauges: Record<string, number>;
}

/** A backend / cluster / service as a whole. */
export interface BackendView {
  name: string;
  state: UpstreamState;
  counters: Record<string, number>;
  gauges: Record<string, number>;
}

export interface StatsSnapshot {
  upstreams: UpstreamView[];
  backends: BackendView[];
  bytes: number;
  /** An answer was longer than max_bytes and was cut: rows past the cut are missing. */
  truncated: boolean;
  /** When the proxy's view cannot say how an upstream fails: gatewatch must probe it to know. */
  says_how: boolean;
}

export interface StatsRequest {
  config: ProxyStatsConfig;
  headers: Record<string, string>;
  signal: AbortSignal;
  timeoutMs: number;
}

/** Reads one proxy kind's stats endpoint once. */
export type StatsReader = (req: StatsRequest) => Promise<StatsSnapshot>;
