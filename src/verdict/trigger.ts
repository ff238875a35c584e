import type { ChangeEvidence } from '../checks/changes/check.js';
import { changes } from './evidence.js';
import { rolloutChanges } from './kubernetes.js';
import type { Cause, ChangeKind, Evidence, Finding, Trigger } from './types.js';

/**
 * Which kinds of change can cause each cause. A proxy config change misroutes or
 * breaks name resolution; a deploy crashes, stops or slows the app (and a config
 * change can stop it too). Saturation is load, not a change; recovered and
 * unknown have nothing to roll back.
 */
export const FITS: Readonly<Record<Cause, readonly ChangeKind[]>> = {
  proxy_misrouted: ['config'],
  dns_failure: ['config'],
  upstream_down: ['deploy', 'config'],
  upstream_partial: ['deploy'],
  upstream_crash: ['deploy'],
  upstream_timeout: ['deploy'],
  db_slow: ['deploy'],
  db_unavailable: ['config'],
  upstream_saturated: [],
  db_saturated: [],
  memory_leak: ['deploy'],
  deploy_drain: ['deploy'],
  recovered: [],
  unknown: [],
};

// Documentation and tests cannot break a running service: a change that touches only these is never a trigger.
const INERT = [
  /\.(md|markdown|rst|txt|adoc)$/i,
  /(^|\/)(docs?|test|tests|__tests__|spec)\//i,
  /(^|\/)(LICENSE|CHANGELOG|AUTHORS|CODEOWNERS)(\.\w+)?$/i,
];

export function isInert(change: ChangeEvidence): boolean {
  const paths = change.paths ?? [];
  return paths.length > 0 && paths.every((p) => INERT.some((re) => re.test(p)));
}

/**
 * The change to roll back: the newest change of a fitting kind inside the window
 * before onset. Changes after onset cannot have caused it and are never picked.
 * Without `windowMinutes` the changes check's own window (it reports only
 * changes inside it) is the bound.
 */
export function pickTrigger(
  finding: Finding,
  ev: Evidence,
  onsetAt: number,
  windowMinutes?: number,
): Trigger | null {
  const fits = finding.fits ?? FITS[finding.cause];
  if (fits.length === 0) return null;
  const since = windowMinutes === undefined ? Number.NEGATIVE_INFINITY : onsetAt - windowMinutes * 60_000;
  const candidates = [...changes(ev), ...rolloutChanges(ev)]
    .map((c) => ({ c, at: Date.parse(c.at) }))
    .filter(
      ({ c, at }) =>
        Number.isFinite(at) && at >= since && at <= onsetAt && fits.includes(c.kind) && !isInert(c),
    )
    .sort((a, b) => b.at - a.at);
  const best = candidates[0];
  if (!best) return null;
  return {
    kind: best.c.kind,
    ref: best.c.ref,
    summary: best.c.summary,
    author: best.c.author ?? null,
    at: new Date(best.at).toISOString(),
    minutes_before_onset: Math.round((onsetAt - best.at) / 60_000),
  };
}

/** "Roll back deploy a1b2c3d (Bump pool size, by Ana, 12 min before the 502s began)". */
export function rollbackAction(t: Trigger): string {
  const what = t.kind === 'deploy' ? 'deploy' : 'config change';
  const by = t.author ? `, by ${t.author}` : '';
  const ago = `${t.minutes_before_onset} min before the 502s began`;
  const how = /^[0-9a-f]{7,40}$/i.test(t.ref) ? `: \`git revert ${t.ref}\`, then redeploy or reload` : '';
  return `Roll back ${what} ${t.ref} (${t.summary}${by}, ${ago})${how}.`;
}
