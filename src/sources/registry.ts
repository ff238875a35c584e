import { alertmanagerSource } from './alertmanager.js';
import { genericSource } from './generic.js';
import { grafanaSource } from './grafana.js';
import { pagerdutySource } from './pagerduty.js';
import type { AlertSource } from './types.js';

/** Every alert source, one line each; `POST /webhooks/NAME` routes to `SOURCES[NAME]`. */
export const SOURCES: Readonly<Record<string, AlertSource>> = {
  pagerduty: pagerdutySource,
  alertmanager: alertmanagerSource,
  grafana: grafanaSource,
  generic: genericSource,
};
