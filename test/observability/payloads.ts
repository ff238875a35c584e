import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const FIXTURE = readFileSync(
  new URL('../fixtures/pagerduty/incident.triggered.json', import.meta.url),
  'utf8',
);

/** The real PagerDuty v3 `incident.triggered` fixture, re-addressed to one incident of one service. */
export function pagerdutyTriggered(incidentId: string, serviceId: string): string {
  const doc = JSON.parse(FIXTURE) as {
    event: { id: string; data: { id: string; title: string; service: { id: string } } };
  };
  doc.event.id = `EV${randomBytes(8).toString('hex')}`;
  doc.event.data.id = incidentId;
  doc.event.data.title = '502 Bad Gateway';
  doc.event.data.service.id = serviceId;
  return JSON.stringify(doc);
}
