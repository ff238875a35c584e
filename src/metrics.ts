import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric gatewatch exports, on one registry made per process in main.ts. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatewatch_' });
  return {
    registry,
    webhooks: new Counter({
      name: 'gatewatch_webhooks_total',
      help: 'Webhook requests by source and outcome',
      labelNames: ['source', 'outcome'] as const,
      registers: [registry],
    }),
    ignored: new Counter({
      name: 'gatewatch_alerts_ignored_total',
      help: 'Alerts that were not a known service 502, by source',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    incidents: new Counter({
      name: 'gatewatch_incidents_total',
      help: 'Incidents opened, by service',
      labelNames: ['service'] as const,
      registers: [registry],
    }),
    verdicts: new Counter({
      name: 'gatewatch_verdicts_total',
      help: 'Verdicts by cause and recommendation',
      labelNames: ['cause', 'recommendation'] as const,
      registers: [registry],
    }),
    checkDuration: new Histogram({
      name: 'gatewatch_check_duration_seconds',
      help: 'Check duration by check and status',
      labelNames: ['check', 'status'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'gatewatch_queue_jobs',
      help: 'Jobs in the queue by state',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
