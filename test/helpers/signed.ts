// Requests as the senders sign them, in one place: PagerDuty v3 (`X-PagerDuty-Signature`),
// the generic and changes hooks (`X-Gatewatch-Timestamp`/`-Signature`), Slack
// (`X-Slack-Request-Timestamp`/`-Signature`), and the bearer token of Alertmanager and Grafana.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { signGatewatch, signPagerDuty, signSlack } from '../../src/signing.js';
import { AM_TOKEN, PD_SECRET, SLACK_SECRET, WEBHOOK_SECRET } from './gatewatch.js';

const TRIGGERED = readFileSync(
  new URL('../fixtures/pagerduty/incident.triggered.json', import.meta.url),
  'utf8',
);

/** The real PagerDuty v3 `incident.triggered` fixture, re-addressed to one incident of one service, with its own event id. */
export function pagerdutyTriggered(incidentId: string, serviceId: string, title = '502 Bad Gateway'): string {
  const doc = JSON.parse(TRIGGERED) as {
    event: { id: string; data: { id: string; title: string; service: { id: string } } };
  };
  doc.event.id = `EV${randomBytes(8).toString('hex')}`;
  doc.event.data.id = incidentId;
  doc.event.data.title = title;
  doc.event.data.service.id = serviceId;
  return JSON.stringify(doc);
}

/** The headers of a PagerDuty v3 delivery of `body`, signed with `secret` (gatewatch's test secret by default). */
export function pagerdutySigned(body: string | Buffer, secret = PD_SECRET): Record<string, string> {
  return { 'content-type': 'application/json', 'x-pagerduty-signature': signPagerDuty(body, secret) };
}

/** POSTs `body` to `/webhooks/pagerduty` signed as PagerDuty signs it; the undici answer. */
export function postPagerDuty(
  baseUrl: string,
  body: string | Buffer,
  secret = PD_SECRET,
  opts: { timeoutMs?: number } = {},
) {
  return request(`${baseUrl}/webhooks/pagerduty`, {
    method: 'POST',
    headers: pagerdutySigned(body, secret),
    body,
    ...(opts.timeoutMs ? { headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs } : {}),
  });
}

/** The headers of a generic or changes hook delivery of `body`, signed at `nowMs`. */
export function gatewatchSigned(
  body: string | Buffer,
  nowMs = Date.now(),
  secret = WEBHOOK_SECRET,
): Record<string, string> {
  const { timestamp, signature } = signGatewatch(body, secret, nowMs);
  return {
    'content-type': 'application/json',
    'x-gatewatch-timestamp': timestamp,
    'x-gatewatch-signature': signature,
  };
}

/** The headers of a Slack request of `body`, signed at `nowMs`. */
export function slackSigned(
  body: string | Buffer,
  opts: { nowMs?: number; secret?: string; contentType?: string; signature?: string } = {},
): Record<string, string> {
  const sig = signSlack(body, opts.secret ?? SLACK_SECRET, opts.nowMs ?? Date.now());
  return {
    'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': sig.timestamp,
    'x-slack-signature': opts.signature ?? sig.signature,
  };
}

/** The headers of an Alertmanager or Grafana delivery: JSON and the bearer token. */
export function bearerSigned(token = AM_TOKEN): Record<string, string> {
  return { 'content-type': 'application/json', authorization: `Bearer ${token}` };
}
