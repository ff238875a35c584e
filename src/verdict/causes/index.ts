import { contradiction } from '../rules/contradiction.js';
import { hotInstance } from '../rules/hot-instance.js';
import { k8sDeployDrain } from '../rules/k8s-deploy-drain.js';
import { k8sEndpointsDown } from '../rules/k8s-endpoints-down.js';
import { k8sMemoryLeak } from '../rules/k8s-memory-leak.js';
import { k8sPartial } from '../rules/k8s-partial.js';
import { k8sSaturated } from '../rules/k8s-saturated.js';
import { proxyQueue } from '../rules/proxy-queue.js';
import type { Recommendation, Rule } from '../types.js';
import { type CauseModule, isCauseModule } from './cause.js';
import { dbSaturatedCause } from './db-saturated.js';
import { dbSlowCause } from './db-slow.js';
import { dbUnavailableCause } from './db-unavailable.js';
import { deployDrainCause } from './deploy-drain.js';
import { dnsFailureCause } from './dns-failure.js';
import { memoryLeakCause } from './memory-leak.js';
import { networkPathCause } from './network-path.js';
import { proxyMisroutedCause } from './proxy-misrouted.js';
import { recoveredCause } from './recovered.js';
import { responseRejectedCause } from './response-rejected.js';
import { unknownCause } from './unknown.js';
import { upstreamCrashCause } from './upstream-crash.js';
import { upstreamDownCause } from './upstream-down.js';
import { upstreamKeepaliveCause } from './upstream-keepalive.js';
import { upstreamPartialCause } from './upstream-partial.js';
import { upstreamSaturatedCause } from './upstream-saturated.js';
import { upstreamTimeoutCause } from './upstream-timeout.js';
import { upstreamTlsCause } from './upstream-tls.js';
import { workerPoolExhaustedCause } from './worker-pool-exhausted.js';

/**
 * The registry: every cause module and every stand-alone rule (those that find
 * the evidence in conflict and answer `unknown`), one a line. Its order is the
 * rules' precedence: contradictions first (never answer them confidently), then
 * the most specific explanation. The database comes before the upstream, whose
 * failures it explains; a leak before the outage it causes; causes that need
 * healthy targets (network path, keep-alive race, drain) after those that
 * explain dead ones; `recovered` is last before the fallback. The cluster's
 * view (k8s-*) explains the probes' symptoms: OOM kills, no ready endpoint and
 * a draining rollout come before the probes' own causes, replicas before the
 * load check's saturation. A proxy's queue (every server at its maxconn) is said
 * only when nothing before explains it.
 */
export const REGISTRY = [
  contradiction,
  upstreamTlsCause,
  dnsFailureCause,
  dbUnavailableCause,
  dbSaturatedCause,
  dbSlowCause,
  k8sMemoryLeak,
  memoryLeakCause,
  k8sEndpointsDown,
  k8sDeployDrain,
  k8sPartial,
  upstreamDownCause,
  upstreamPartialCause,
  networkPathCause,
  proxyMisroutedCause,
  responseRejectedCause,
  deployDrainCause,
  k8sSaturated,
  upstreamSaturatedCause,
  workerPoolExhaustedCause,
  upstreamKeepaliveCause,
  upstreamCrashCause,
  upstreamTimeoutCause,
  hotInstance,
  proxyQueue,
  recoveredCause,
  unknownCause,
] as const;

type CauseEntry = Extract<(typeof REGISTRY)[number], CauseModule>;
export type CauseId = CauseEntry['id'];

/** The cause modules, in the contract table's order of precedence. */
export const CAUSE_MODULES: readonly CauseModule<CauseId>[] = REGISTRY.filter(
  isCauseModule,
) as CauseModule<CauseId>[];

/** The rules, in order of precedence. */
export const RULES: readonly Rule[] = REGISTRY.flatMap((e) =>
  isCauseModule(e) ? (e.rule ? [e.rule] : []) : [e],
);

/** Each cause id with its recommendation (the contract's table). */
export const CAUSES = Object.fromEntries(CAUSE_MODULES.map((m) => [m.id, m.recommendation])) as Readonly<
  Record<CauseId, Recommendation>
>;

export function causeModule(id: CauseId): CauseModule<CauseId> {
  return CAUSE_MODULES.find((m) => m.id === id)!;
}

export function isCause(value: string): value is CauseId {
  return Object.hasOwn(CAUSES, value);
}
