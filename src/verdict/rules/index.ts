import type { Rule } from '../types.js';
import { contradiction } from './contradiction.js';
import { dbSaturated } from './db-saturated.js';
import { dbSlow } from './db-slow.js';
import { dbUnavailable } from './db-unavailable.js';
import { dnsFailure } from './dns-failure.js';
import { hotInstance } from './hot-instance.js';
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
 * the upstream, whose failures it explains; `recovered` is last.
 */
export const RULES: readonly Rule[] = [
  contradiction,
  dnsFailure,
  dbUnavailable,
  dbSaturated,
  dbSlow,
  upstreamDown,
  upstreamPartial,
  proxyMisrouted,
  upstreamSaturated,
  upstreamCrash,
  upstreamTimeout,
  hotInstance,
  recovered,
];
