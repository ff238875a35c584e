import type { CheckContext } from '../../src/checks/types.js';
import { silentLogger } from '../../src/log.js';

/** What a check is handed when run on its own: a quiet log, no secrets, a clock stopped at `now`. */
export function checkContext(over: Partial<CheckContext> & { now?: () => number } = {}): CheckContext {
  const now = Date.now();
  return {
    service: 'checkout-api',
    signal: new AbortController().signal,
    log: silentLogger(),
    env: {},
    now: () => now,
    onsetAt: now,
    timeoutMs: 10_000,
    ...over,
  };
}
