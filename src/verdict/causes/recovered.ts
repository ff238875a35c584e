import {
  clamp,
  database,
  gatewayErrorsNow,
  goodAnswers,
  loadRows,
  log,
  quietMinutes,
  quietNeeded,
  sample,
  targets,
} from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/**
 * No 502s now, every check that judges health passes, and the proxy's log has
 * been quiet since its last upstream error for a while (`quiet_minutes`, 5 by default). A few good samples
 * alone prove nothing: intermittent 502s (a keep-alive race, a crash loop) leave
 * gaps, and their errors are in the log. A change in the window does not prevent
 * it; errors older than the quiet spell are the transient that set off the alert.
 */
export const recovered: Rule = (ev) => {
  const s = sample(ev);
  const all = targets(ev);
  if (!s && all.length === 0) return null;
  if (s && (gatewayErrorsNow(ev) !== false || goodAnswers(ev) === 0)) return null;
  if (!all.every((t) => t.status === 'ok')) return null;
  const l = log(ev);
  const quiet = quietMinutes(ev);
  if (l && l.errors > 0 && (quiet === null || quiet < quietNeeded(ev))) return null;
  if (loadRows(ev).some((r) => r.over.length > 0)) return null;
  const db = database(ev);
  if (db && (db.status !== 'ok' || db.outcome !== 'ok')) return null;
  const checked = [s && 'proxy', all.length && 'upstream', ev.load && 'load', db && 'database'].filter(
    Boolean,
  );
  const past =
    l && l.errors > 0
      ? ` The proxy's log shows ${l.errors} upstream errors (mostly ${l.dominant}) in the last ${l.window_minutes} min, none in the last ${quiet !== null && quiet < 1 ? `${Math.round(quiet * 60)} s` : `${Math.floor(quiet ?? 0)} min`}: a transient that has stopped.`
      : '';
  return {
    cause: 'recovered',
    confidence: clamp(0.5 + (s ? 0.2 : 0) + (all.length ? 0.1 : 0) + 0.05 * (checked.length - 1)),
    summary: `No 502s now: ${s ? `${goodAnswers(ev)} of ${s.samples} requests through the proxy succeeded and ` : ''}every check passes (${checked.join(', ')}).${past}`,
    actions: [
      'Nothing to fix now. If the alert fires again, re-run the checks while it is happening.',
      ...(past
        ? [
            "Look at the proxy's log around the alert's start to see what the transient was (a restart, a deploy).",
          ]
        : []),
    ],
  };
};

export const recoveredCause = defineCause({
  id: 'recovered',
  recommendation: 'none',
  label: 'No 502s now, and every check passes.',
  rule: recovered,
  triggeredBy: [],
  colour: '#98df8a',
});
