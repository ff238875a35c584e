import type { CheckResult } from '../../src/checks/types.js';
import type { Cause, Verdict } from '../../src/verdict/types.js';
import { CAUSES } from '../../src/verdict/types.js';

/**
 * One realistic, hand-made verdict per cause, as the engine would produce them:
 * these test formatting only, so the verdicts are written out, not computed.
 */
function check(
  name: CheckResult['name'],
  status: CheckResult['status'],
  duration_ms: number,
  summary: string,
): CheckResult {
  return { name, status, duration_ms, summary, evidence: [] };
}

const upstreamDead = check(
  'upstream',
  'fail',
  2004,
  '0 of 2 targets answer: 10.0.1.11:8080 refused, 10.0.1.12:8080 refused',
);
const proxy502 = check(
  'proxy',
  'fail',
  812,
  '14 of 20 sampled requests answered 502; error log: connect() failed (111: Connection refused)',
);
const loadOk = check('load', 'ok', 140, 'cpu 22%, memory 41% across 2 instances');
const dbOk = check('database', 'ok', 35, 'postgres p95 4 ms, 12/100 connections');
const noChanges = check('changes', 'ok', 60, 'no deploy or config change in the 60 minutes before onset');

/** A Deployment rollout as the kubernetes check reports it: its ReplicaSet is the ref. */
const rollout = (minutes: number): Verdict['trigger'] => ({
  kind: 'deploy',
  ref: 'checkout-api-7d9f8c6b5',
  summary: 'Deployment checkout-api revision 5 (checkout:1.5.0)',
  author: null,
  at: '2025-03-04T09:12:00Z',
  minutes_before_onset: minutes,
});

type Spec = Omit<Verdict, 'service' | 'incident' | 'recommendation' | 'cause'>;

const SPECS: Record<Cause, Spec> = {
  upstream_down: {
    confidence: 0.95,
    summary: 'Every upstream target of checkout-api refuses connections (10.0.1.11:8080, 10.0.1.12:8080).',
    actions: [
      'Start the checkout-api service on 10.0.1.11 and 10.0.1.12 (systemctl status checkout-api).',
      'If it crashed on start, roll back the last deploy.',
    ],
    trigger: null,
    capacity: null,
    checks: [proxy502, upstreamDead, loadOk, noChanges],
    duration_ms: 2210,
  },
  upstream_partial: {
    confidence: 0.85,
    summary:
      '1 of 2 upstream targets are dead (10.0.1.12:8080) and still receive traffic; 1 answer normally.',
    actions: [
      'Restart or replace the instance on 10.0.1.12:8080 (refused: connect ECONNREFUSED).',
      "Take 10.0.1.12:8080 out of the proxy's upstream pool until it is healthy (or enable passive health checks: max_fails/fail_timeout).",
    ],
    trigger: null,
    capacity: null,
    checks: [check('upstream', 'warn', 1450, '1 of 2 targets answer: 10.0.1.12:8080 refused'), loadOk],
    duration_ms: 1502,
  },
  proxy_misrouted: {
    confidence: 0.8,
    summary:
      'The targets are healthy, but nginx sends /checkout to 10.0.1.99:8080, which is not one of them.',
    actions: [
      'Roll back config change a1b2c3d (nginx/checkout.conf) that changed proxy_pass.',
      'Run nginx -t and reload once proxy_pass points at the checkout upstream again.',
    ],
    trigger: {
      kind: 'config',
      ref: 'a1b2c3d',
      summary: 'nginx: move checkout to new upstream block',
      author: 'dana@example.com',
      at: '2025-03-04T09:12:00Z',
      minutes_before_onset: 6,
    },
    capacity: null,
    checks: [
      check(
        'proxy',
        'fail',
        640,
        '20 of 20 sampled requests answered 502; upstream "10.0.1.99:8080" refused',
      ),
      check('upstream', 'ok', 180, '2 of 2 targets answer, p95 21 ms'),
      check('changes', 'warn', 95, 'config change a1b2c3d 6 min before onset touches nginx/checkout.conf'),
    ],
    duration_ms: 710,
  },
  dns_failure: {
    confidence: 0.9,
    summary: 'The upstream name checkout.internal.invalid does not resolve (ENOTFOUND).',
    actions: [
      'Fix the DNS record of checkout.internal.invalid, or point the proxy at a name that resolves.',
      'Check the resolver the proxy uses (resolver directive / /etc/resolv.conf).',
    ],
    trigger: null,
    capacity: null,
    checks: [
      check('upstream', 'fail', 31, '0 of 1 targets answer: checkout.internal.invalid does not resolve'),
      noChanges,
    ],
    duration_ms: 120,
  },
  upstream_crash: {
    confidence: 0.85,
    summary:
      'The targets accept connections, then reset them before answering: the process dies mid-request.',
    actions: [
      'Read the application log of checkout-api on 10.0.1.11 for the crash (segfault, OOM kill, panic).',
      'Roll back deploy v2.14.0, deployed 12 minutes before the 502s began.',
    ],
    trigger: {
      kind: 'deploy',
      ref: 'v2.14.0',
      summary: 'checkout-api v2.14.0',
      author: 'ci-bot',
      at: '2025-03-04T09:06:00Z',
      minutes_before_onset: 12,
    },
    capacity: null,
    checks: [
      check('upstream', 'fail', 95, '0 of 2 targets answer: connection reset by peer (ECONNRESET)'),
      check(
        'proxy',
        'fail',
        700,
        'error log: upstream prematurely closed connection while reading response header',
      ),
      check('changes', 'warn', 80, 'deploy v2.14.0 12 min before onset'),
    ],
    duration_ms: 905,
  },
  upstream_timeout: {
    confidence: 0.75,
    summary:
      'The targets take 9.8 s (p95) to answer while CPU is at 18%: they wait on something, not on load.',
    actions: [
      'Find what the handlers wait on: a downstream call, a lock, a DNS lookup.',
      'Do not scale up: idle instances would wait just the same.',
    ],
    trigger: null,
    capacity: null,
    checks: [
      check('upstream', 'warn', 5002, '2 of 2 targets slow: p95 9800 ms'),
      check('load', 'ok', 150, 'cpu 18%, memory 35%'),
      dbOk,
    ],
    duration_ms: 5120,
  },
  upstream_saturated: {
    confidence: 0.85,
    summary:
      'The targets answer in 3.1 s (p95) with CPU at 97% across 3 instances: they are out of capacity.',
    actions: [
      'Scale checkout-api from 3 to 4 instances.',
      'Then look for the traffic increase that caused it.',
    ],
    trigger: null,
    capacity: {
      resource: 'cpu',
      instances: 3,
      utilisation: 0.97,
      target_utilisation: 0.7,
      suggested_instances: 5,
    },
    checks: [
      check('upstream', 'warn', 3300, '3 of 3 targets slow: p95 3100 ms'),
      check('load', 'fail', 160, 'cpu 97% (threshold 85%) on 3 instances'),
      dbOk,
    ],
    duration_ms: 3410,
  },
  db_unavailable: {
    confidence: 0.9,
    summary:
      'PostgreSQL at db.internal:5432 refuses connections; the upstreams fail every request that needs it.',
    actions: [
      'Start PostgreSQL on db.internal, or fail over to the replica.',
      'Check its log for why it stopped.',
    ],
    trigger: null,
    capacity: null,
    checks: [
      check('upstream', 'warn', 300, '2 of 2 targets answer 500 on /healthz'),
      check('database', 'fail', 12, 'postgres connect ECONNREFUSED db.internal:5432'),
    ],
    duration_ms: 330,
  },
  db_slow: {
    confidence: 0.8,
    summary: 'PostgreSQL answers in 2.4 s (p95): 3 sessions wait on a lock held for 4 minutes by pid 4242.',
    actions: [
      'Look at pid 4242 (pg_stat_activity) and end it if it is stuck: SELECT pg_terminate_backend(4242).',
      'Find the migration or job that takes the lock.',
    ],
    trigger: null,
    capacity: null,
    checks: [
      check('upstream', 'warn', 2600, '2 of 2 targets slow: p95 2500 ms'),
      check('database', 'fail', 2450, 'postgres p95 2400 ms; 3 lock waits; longest query 241 s'),
      loadOk,
    ],
    duration_ms: 2700,
  },
  db_saturated: {
    confidence: 0.85,
    summary: 'MariaDB has 148 of 151 connections in use; new connections from checkout-api are refused.',
    actions: [
      'Raise max_connections, or add a connection pool in front of MariaDB.',
      'Scale the database up if CPU stays above 90%.',
    ],
    trigger: null,
    capacity: {
      resource: 'connections',
      instances: 151,
      utilisation: 0.98,
      target_utilisation: 0.8,
      suggested_instances: 186,
    },
    checks: [
      check('upstream', 'warn', 900, '2 of 2 targets answer 503 on /healthz'),
      check('database', 'fail', 40, 'mysql 148/151 connections (98%)'),
    ],
    duration_ms: 960,
  },
  memory_leak: {
    confidence: 0.85,
    summary:
      'Pod checkout-api-7d9f8c6b5-x2k8p was OOMKilled (exit 137) at its 512Mi limit 4 min ago, 12 min after rollout of revision 5 began; it ran 9 min before the kill.',
    actions: [
      'Roll back deploy checkout-api-7d9f8c6b5 (Deployment checkout-api revision 5, 16 min before the 502s began).',
      "Capture a heap profile of the new revision before its next kill; compare with revision 4's.",
    ],
    trigger: rollout(16),
    capacity: null,
    checks: [proxy502, check('kubernetes', 'fail', 180, '3 pods, 1 OOMKilled 4 min ago (limit 512Mi)')],
    duration_ms: 1210,
  },
  deploy_drain: {
    confidence: 0.8,
    summary:
      'The 502s come in a rollout of checkout-api (revision 5, 2 of 3 updated) while 1 endpoint is terminating: nginx still sends to pods being stopped.',
    actions: [
      'Roll back deploy checkout-api-7d9f8c6b5 (Deployment checkout-api revision 5, 3 min before the 502s began).',
      'Add a preStop sleep (5–10 s) so the pod keeps serving until the endpoint removal reaches the proxy.',
    ],
    trigger: rollout(3),
    capacity: null,
    checks: [proxy502, check('kubernetes', 'warn', 150, '2 of 3 endpoints ready, 1 terminating')],
    duration_ms: 980,
  },
  recovered: {
    confidence: 0.9,
    summary: 'No 502 now: the proxy answers 200 and every check passes.',
    actions: ['Nothing to do now; keep an eye on the error rate for the next 15 minutes.'],
    trigger: null,
    capacity: null,
    checks: [
      check('proxy', 'ok', 420, '20 of 20 sampled requests answered 200'),
      check('upstream', 'ok', 120, '2 of 2 targets answer, p95 18 ms'),
      loadOk,
      dbOk,
      noChanges,
    ],
    duration_ms: 610,
  },
  unknown: {
    confidence: 0.2,
    summary: 'The checks could not gather enough evidence (database errored).',
    actions: [
      'Fix the database check so it can run: CHECKOUT_DB_URL is not set',
      "Look at the proxy's error log and the upstreams' logs for the minutes around the alert.",
      'Re-run the checks while the 502s are happening.',
    ],
    trigger: null,
    capacity: null,
    checks: [
      check('upstream', 'ok', 110, '2 of 2 targets answer'),
      check('database', 'error', 1, 'database check could not run: CHECKOUT_DB_URL is not set'),
      check('load', 'skipped', 0, 'no load source configured'),
    ],
    duration_ms: 150,
  },
};

export function sampleVerdict(cause: Cause): Verdict {
  return {
    service: 'checkout-api',
    incident: 'Q3B15VLMF3ASBD',
    recommendation: CAUSES[cause],
    cause,
    ...structuredClone(SPECS[cause]),
  };
}
