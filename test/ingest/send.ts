import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { bearerSigned, gatewatchSigned, pagerdutySigned } from '../helpers/signed.js';

/** A fixture's exact bytes (signatures are over bytes, not over re-serialised JSON). */
export function fixture(folder: string, name: string): string {
  return readFileSync(new URL(`../fixtures/${folder}/${name}`, import.meta.url), 'utf8');
}

export interface Answer {
  status: number;
  contentType: string;
  json: Record<string, unknown>;
  ms: number;
}

export async function post(
  baseUrl: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string>,
): Promise<Answer> {
  const t0 = performance.now();
  const res = await request(`${baseUrl}${path}`, { method: 'POST', body, headers });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    contentType: String(res.headers['content-type'] ?? ''),
    json: JSON.parse(text) as Record<string, unknown>,
    ms: performance.now() - t0,
  };
}

export function pagerdutyHeaders(body: string, webhookId: string = randomUUID()): Record<string, string> {
  return { ...pagerdutySigned(body), 'x-webhook-id': webhookId };
}

export const bearerHeaders = (token?: string) => bearerSigned(token);

export const genericHeaders = (body: string, nowMs = Date.now()) => gatewatchSigned(body, nowMs);

type PdEnvelope = {
  event: {
    id: string;
    event_type: string;
    occurred_at: string;
    data: { id: string; title: string; service: { id: string } };
  };
};

/**
 * A real PagerDuty delivery (the triggered capture) re-aimed at one incident
 * and event type, so a test can play an incident's whole life in order.
 */
export function pagerdutyEvent(opts: {
  eventType: string;
  incidentId: string;
  occurredAt?: string;
  serviceId?: string;
}): string {
  const env = JSON.parse(fixture('pagerduty', 'incident.triggered.json')) as PdEnvelope;
  env.event.id = randomUUID();
  env.event.event_type = opts.eventType;
  env.event.occurred_at = opts.occurredAt ?? new Date().toISOString();
  env.event.data.id = opts.incidentId;
  if (opts.serviceId) env.event.data.service.id = opts.serviceId;
  return JSON.stringify(env);
}

type AlertGroupBody = {
  alerts: { status: string; fingerprint: string; startsAt: string; labels: Record<string, string> }[];
};

/** A real Alertmanager notification with its alerts' status, fingerprint, start and labels replaced. */
export function alertmanagerGroup(
  alerts: {
    status: 'firing' | 'resolved';
    fingerprint: string;
    startsAt?: string;
    labels?: Record<string, string>;
  }[],
): string {
  const group = JSON.parse(fixture('alertmanager', 'webhook-firing.json')) as AlertGroupBody;
  const template = group.alerts[0]!;
  group.alerts = alerts.map((a) => ({
    ...template,
    status: a.status,
    fingerprint: a.fingerprint,
    startsAt: a.startsAt ?? template.startsAt,
    labels: { ...template.labels, ...a.labels },
  }));
  return JSON.stringify(group);
}
