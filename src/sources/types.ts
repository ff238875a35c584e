import type { Config } from '../config.js';
import type { InboundRequest } from '../inbound.js';

export { header, type InboundRequest } from '../inbound.js';

export type AlertEvent = 'triggered' | 'acknowledged' | 'resolved' | 'reopened' | 'updated';

/** One alert, whatever tool sent it: what ingest needs to find or open an incident. */
export interface Alert {
  source: string;
  /** The sender's own id for the problem (PagerDuty incident id, Alertmanager fingerprint, …). */
  key: string;
  event: AlertEvent;
  title: string;
  /** PagerDuty service ids the alert belongs to. */
  serviceIds: string[];
  labels: Record<string, string>;
  /** Set when the sender names the service outright (generic hook); otherwise the playbooks' match rules decide. */
  service?: string;
  url?: string;
  /** When the problem began, ISO-8601; for an end (`resolved`), the start of what ended, else when it ended. */
  startedAt: string;
}

/**
 * The payload's alerts, or why it carries none gatewatch handles. `deliveryId`
 * is the sender's id for this delivery, the same on each of its retries.
 */
export type ParseResult = { alerts: Alert[]; deliveryId?: string } | { ignored: string };

/**
 * An alert source: how a sender proves who it is and how its payload becomes
 * alerts. One file each, listed in `registry.ts`.
 */
export interface AlertSource {
  name: string;
  /** Content types accepted (the part before `;`). */
  contentTypes: readonly string[];
  /** Throws an UNAUTHORIZED GatewatchError unless the request is authentic. */
  authenticate(req: InboundRequest, config: Config, nowMs: number): void;
  /**
   * Turns the parsed JSON body into alerts; throws BAD_REQUEST on a malformed payload.
   * `nowMs` stands in for a start time the sender did not give.
   */
  parse(body: unknown, req: InboundRequest, nowMs: number): ParseResult;
}
