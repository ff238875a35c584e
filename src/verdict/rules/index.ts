import type { Rule } from '../types.js';
import { contradiction } from './contradiction.js';
import { dbSaturated } from './db-saturated.js';
import { dbSlow } from './db-slow.js';
import { dbUnavailable } from './db-unavailable.js';
import { dnsFailure } from './dns-failure.js';
import { hotInstance } from './hot-instance.js';
import { k8sDeployDrain } from './k8s-deploy-drain.js';
import { k8sEndpointsDown } from './k8s-endpoints-down.js';
import { k8sMemoryLeak } from './k8s-memory-leak.js';
import { k8sPartial } from './k8s-partial.js';
import { k8sSaturated } from './k8s-saturated.js';
import { proxyMisrouted } from './proxy-misrouted.js';
import { recovered } from './recovered.js';
import { upstreamCrash } from './upstream-crash.js';
import { upstreamDown } from './upstream-down.js';
import { upstreamPartial } from './upstream-partial.js';
import { upstreamSaturated } from './upstream-saturated.js';
import { upstreamTimeout } from './upstream-timeout.js';

/**
 * Rules in order of precedence: contradictions first (never answer them
 * confidently), then the most specific explanation. The database comes before
 * the upstream, whose failures it explains; `recovered` is last. The cluster's
 * view (k8s-*) explains the upstream's symptoms: OOM kills, no ready endpoint
 * and a draining rollout come before the probes' own causes, replicas before
 * the load check's saturation.
 */
export const RULES: readonly Rule[] = [
  contradiction,
  dnsFailure,
  dbUnavailable,
  dbSaturated,
  dbSlow,
  k8sMemoryLeak,
  k8sEndpointsDown,
  k8sDeployDrain,
  k8sPartial,
  upstreamDown,
  upstreamPartial,
  proxyMisrouted,
  k8sSaturated,
  upstreamSaturated,
  upstreamCrash,
  upstreamTimeout,
  hotInstance,
  recovered,
];
