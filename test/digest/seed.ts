import type { Redis } from 'ioredis';
import { type Incident, toHash } from '../../src/store/incident.js';
import { CAUSES, type Cause, type Verdict } from '../../src/verdict/types.js';

export function verdictFor(service: string, cause: Cause): Verdict {
  return {
    service,
    incident: null,
    recommendation: CAUSES[cause],
    cause,
    confidence: 0.9,
    summary: `${cause} on ${service}`,
    actions: [],
    trigger: null,
    capacity: null,
    checks: [],
    duration_ms: 1200,
  };
}

export interface Seed {
  id: string;
  service: string;
  onset: string;
  /** First alert; defaults to one minute after onset. */
  firstAlert?: string;
  ack?: string;
  resolved?: string;
  cause?: Cause;
  feedback?: string;
  /** A `/gateway check` run rather than an incident. */
  requestedBy?: string;
}

/** An incident record exactly as IncidentStore keeps it: the hash, and both time indexes scored by first alert. */
export function incidentOf(s: Seed): Incident {
  const firstAlertAt = s.firstAlert ?? new Date(Date.parse(s.onset) + 60_000).toISOString();
  return {
    id: s.id,
    service: s.service,
    source: 'pagerduty',
    externalId: s.id,
    title: `502 on ${s.service}`,
    url: null,
    state: s.resolved ? 'resolved' : s.ack ? 'acknowledged' : s.cause ? 'diagnosed' : 'triggered',
    onsetAt: new Date(s.onset).toISOString(),
    firstAlertAt,
    lastAlertAt: firstAlertAt,
    alertCount: 1,
    run: 1,
    diagnosingAt: null,
    verdictAt: s.cause ? firstAlertAt : null,
    acknowledgedAt: s.ack ? new Date(s.ack).toISOString() : null,
    resolvedAt: s.resolved ? new Date(s.resolved).toISOString() : null,
    verdict: s.cause ? verdictFor(s.service, s.cause) : null,
    channel: null,
    rootTs: null,
    verdictTs: null,
    requestedBy: s.requestedBy ?? null,
    feedback: s.feedback ?? null,
  };
}

export async function seed(redis: Redis, prefix: string, seeds: Seed[]): Promise<Incident[]> {
  const incidents = seeds.map(incidentOf);
  for (const i of incidents) {
    const score = Date.parse(i.firstAlertAt);
    await redis
      .multi()
      .hset(`${prefix}:incident:${i.id}`, toHash(i))
      .zadd(`${prefix}:index`, score, i.id)
      .zadd(`${prefix}:index:${i.service}`, score, i.id)
      .exec();
  }
  return incidents;
}

/** Two weeks of four services in UTC (2026-W09 and 2026-W10), figures worked out by hand in the tests. */
export const TWO_WEEKS: Seed[] = [
  // 2026-W10, Monday 2 March to Sunday 8 March
  {
    id: 'c1',
    service: 'checkout-api',
    onset: '2026-03-02T10:00Z',
    ack: '2026-03-02T10:05Z',
    resolved: '2026-03-02T10:30Z',
    cause: 'upstream_down',
  },
  {
    id: 'c2',
    service: 'checkout-api',
    onset: '2026-03-03T14:00Z',
    ack: '2026-03-03T14:10Z',
    resolved: '2026-03-03T15:00Z',
    cause: 'upstream_down',
  },
  {
    id: 'c3',
    service: 'checkout-api',
    onset: '2026-03-04T09:00Z',
    ack: '2026-03-04T09:02Z',
    resolved: '2026-03-04T09:20Z',
    cause: 'upstream_saturated',
    feedback: 'upstream_down',
  },
  {
    id: 'c4',
    service: 'checkout-api',
    onset: '2026-03-05T20:00Z',
    resolved: '2026-03-05T20:45Z',
    cause: 'upstream_down',
  },
  {
    id: 's1',
    service: 'search-api',
    onset: '2026-03-02T12:00Z',
    ack: '2026-03-02T12:03Z',
    resolved: '2026-03-02T12:40Z',
    cause: 'upstream_saturated',
  },
  {
    id: 's2',
    service: 'search-api',
    onset: '2026-03-06T18:00Z',
    ack: '2026-03-06T18:01Z',
    resolved: '2026-03-06T18:30Z',
    cause: 'db_saturated',
  },
  // Still open when the digest is built, half an hour after the week ended.
  {
    id: 's3',
    service: 'search-api',
    onset: '2026-03-08T23:00Z',
    ack: '2026-03-08T23:04Z',
    cause: 'upstream_saturated',
  },
  { id: 'l1', service: 'login-api', onset: '2026-03-07T08:00Z', resolved: '2026-03-07T08:10Z' },
  {
    id: 'l2',
    service: 'login-api',
    onset: '2026-03-04T11:00Z',
    ack: '2026-03-04T11:06Z',
    resolved: '2026-03-04T11:36Z',
    cause: 'dns_failure',
    feedback: 'proxy_misrouted',
  },
  {
    id: 'l3',
    service: 'login-api',
    onset: '2026-03-04T16:00Z',
    resolved: '2026-03-04T16:15Z',
    cause: 'dns_failure',
    feedback: 'not-a-cause',
  },
  {
    id: 'e1',
    service: 'edge-proxy',
    onset: '2026-03-03T07:00Z',
    resolved: '2026-03-03T07:05Z',
    cause: 'recovered',
  },
  // Next week's: inside the index range read for W10, but its onset is in W11.
  {
    id: 'n1',
    service: 'checkout-api',
    onset: '2026-03-09T00:10Z',
    resolved: '2026-03-09T00:20Z',
    cause: 'upstream_down',
  },
  // 2026-W09. p2's first alert falls in W10, its onset in W09: it is W09's.
  {
    id: 'p1',
    service: 'checkout-api',
    onset: '2026-02-24T10:00Z',
    resolved: '2026-02-24T10:40Z',
    cause: 'upstream_down',
  },
  {
    id: 'p2',
    service: 'checkout-api',
    onset: '2026-03-01T23:50Z',
    firstAlert: '2026-03-02T00:01Z',
    resolved: '2026-03-02T00:20Z',
    cause: 'upstream_down',
  },
  {
    id: 'p3',
    service: 'search-api',
    onset: '2026-02-25T10:00Z',
    resolved: '2026-02-25T11:00Z',
    cause: 'upstream_saturated',
  },
  {
    id: 'p4',
    service: 'billing-api',
    onset: '2026-02-26T10:00Z',
    resolved: '2026-02-26T10:20Z',
    cause: 'upstream_timeout',
  },
];

export const MIN = 60_000;
