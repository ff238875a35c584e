import { parseAlertGroup } from './alert-group.js';
import { requireBearer } from './bearer.js';
import type { AlertSource } from './types.js';

/**
 * Prometheus Alertmanager's webhook receiver (payload version "4"). It signs
 * nothing, so `http_config.authorization` sends a bearer token; only 5xx is retried.
 */
export const alertmanagerSource: AlertSource = {
  name: 'alertmanager',
  contentTypes: ['application/json'],

  authenticate(req, config) {
    requireBearer(req, config.ALERTMANAGER_TOKEN ? [config.ALERTMANAGER_TOKEN] : [], 'Alertmanager');
  },

  parse(body, _req, nowMs) {
    return parseAlertGroup('alertmanager', body, nowMs, 'an Alertmanager webhook');
  },
};
