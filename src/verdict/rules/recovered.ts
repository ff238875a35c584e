import type { Rule } from '../types.js';

/** No failing check and something was actually checked: the 502s are over. */
export const recovered: Rule = (ev) => {
  const ran = ev.results.filter((r) => r.status !== 'skipped');
  if (ran.length === 0) return null;
  if (!ran.every((r) => r.status === 'ok')) return null;
  return {
    cause: 'recovered',
    confidence: Math.min(0.9, 0.5 + 0.1 * ran.length),
    summary: `No 502s now: every check passes (${ran.map((r) => r.name).join(', ')}).`,
    actions: ['Nothing to do now. If the alert fires again, re-run the checks while it is happening.'],
  };
};
