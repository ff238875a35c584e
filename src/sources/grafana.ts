import { parseAlertGroup } from './alert-group.js';
import { requireBearer } from './bearer.js';
import type { AlertSource } from './types.js';

/**
 * Grafana unified alerting's webhook contact point (payload version "1", the
 * Alertmanager shape plus Grafana's fields). Authenticated by the contact
 * point's Authorization header: `Bearer $GRAFANA_TOKEN`, or `Bearer
 * $ALERTMANAGER_TOKEN` when no Grafana token of its own is set.
 */
export const grafanaSource: AlertSource = {
  name: 'grafana',
  contentTypes: ['application/json'],

  authenticate(req, config) {
    const token = config.GRAFANA_TOKEN ?? config.ALERTMANAGER_TOKEN;
    requireBearer(req, token ? [token] : [], 'Grafana');
  },

  parse(body, _req, nowMs) {
    return parseAlertGroup('grafana', body, nowMs, 'a Grafana webhook');
  },
};
