import type { ProxyErrorLogConfig } from '../../../../playbooks/schema.js';

/** One line as a source hands it over; `at` is the store's own time (epoch ms), null when the line must say. */
export interface StoredLine {
  text: string;
  at: number | null;
}

export interface LogRead {
  /** Where it came from, fit to show: a path, or a store's URL (no credentials) and what was asked. */
  location: string;
  lines: StoredLine[];
  bytes_read: number;
  /** The file's size; null for a log store. */
  size: number | null;
  /** Lines in the window were left unread: why, in words (`the line limit (1000)`, `max_bytes`). */
  truncated: string | null;
  /** The store answered, but not completely (shard failures, a store-side timeout). */
  partial: string | null;
}

export interface LogReadRequest {
  config: ProxyErrorLogConfig;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
  timeoutMs: number;
  /** The incident window, epoch ms: [since, until). */
  since: number;
  until: number;
}

/** Where a proxy's error log can be read from; one per `error_log.source`. */
export type LogSource = (req: LogReadRequest) => Promise<LogRead>;
