import type { Rule } from '../types.js';
import { dnsFailure } from './dns-failure.js';
import { recovered } from './recovered.js';
import { upstreamDown } from './upstream-down.js';
import { upstreamPartial } from './upstream-partial.js';

/** Rules in order of precedence: the most specific explanation first, `recovered` last. */
export const RULES: readonly Rule[] = [dnsFailure, upstreamDown, upstreamPartial, recovered];
