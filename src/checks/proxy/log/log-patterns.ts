/**
 * Stable ids for what a proxy's log says went wrong with an upstream. The verdict
 * rules read these ids, so they never change meaning; the `kind` groups them by the
 * cause family a rule looks for.
 */
export const SIGNATURES = {
  refused: { kind: 'connect', meaning: 'the upstream refused the connection (nothing listens there)' },
  connect_failure: {
    kind: 'connect',
    meaning: 'the connection to the upstream failed (refused or timed out)',
  },
  unreachable: { kind: 'connect', meaning: 'no route to the upstream address' },
  connect_timeout: { kind: 'connect', meaning: 'the connection to the upstream timed out' },
  timeout: { kind: 'timeout', meaning: 'the upstream did not answer in time' },
  reset: { kind: 'crash', meaning: 'the upstream reset the connection' },
  premature_close: { kind: 'crash', meaning: 'the upstream closed the connection before answering' },
  no_live_upstreams: { kind: 'connect', meaning: 'every upstream server is marked down' },
  dns: { kind: 'dns', meaning: 'the upstream name does not resolve' },
  config_host_not_found: { kind: 'dns', meaning: 'a reload failed: an upstream name did not resolve' },
  tls: { kind: 'protocol', meaning: 'the TLS handshake with the upstream failed' },
  protocol_error: { kind: 'protocol', meaning: 'the upstream answered something other than valid HTTP' },
  header_too_big: { kind: 'protocol', meaning: "the upstream's response headers overflow the proxy buffer" },
  overloaded: { kind: 'capacity', meaning: 'the proxy queued or shed the request: limits reached' },
  no_route: { kind: 'routing', meaning: 'the proxy has no route or cluster for the request' },
  client_abort: { kind: 'client', meaning: 'the client went away before the answer' },
  other: { kind: 'other', meaning: 'another upstream error' },
} as const satisfies Record<string, { kind: string; meaning: string }>;

export type ProxySignature = keyof typeof SIGNATURES;
export type SignatureKind = (typeof SIGNATURES)[ProxySignature]['kind'];

export type ProxyLogFormat = 'nginx' | 'haproxy' | 'envoy' | 'ingress-nginx';

/** One log line that names an upstream problem. */
export interface ProxyLogEntry {
  /** Epoch milliseconds; null when the line carries no time we can read. */
  at: number | null;
  signature: ProxySignature;
  /** host:port, an upstream group or server name, or a unix socket path, as the line names it. */
  upstream: string | null;
  /** The status the proxy gave the client, when the line says. */
  status: number | null;
  /** The proxy's own word for it: errno text, HAProxy termination state, Envoy response flags. */
  raw: string;
}

export type ProxyLogParser = (line: string) => ProxyLogEntry | null;
