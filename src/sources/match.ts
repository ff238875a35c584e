import type { Playbook } from '../playbooks/schema.js';
import { titleMatcher } from '../playbooks/title-pattern.js';
import type { Alert } from './types.js';

export type MatchResult = { playbook: Playbook } | { ignored: string };

function labelsMatch(want: Record<string, string> | undefined, have: Record<string, string>): boolean {
  if (!want || Object.keys(want).length === 0) return false;
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

/**
 * Only this much of a title or alert name is matched: a rule about a 502 looks at
 * words near the start, and a body of up to 1 MiB must not cost a megabyte of matching.
 */
export const MAX_MATCHED_CHARS = 1024;
/** How much of an unmatched title the ignore reason quotes back. */
const QUOTED_CHARS = 120;

/** The title rule reads the alert's title (a summary) and, for Prometheus-style alerts, its alert name. */
function titleMatches(pattern: string, alert: Alert): boolean {
  const re = titleMatcher(pattern);
  const name = alert.labels.alertname;
  return (
    re.test(alert.title.slice(0, MAX_MATCHED_CHARS)) ||
    (name !== undefined && re.test(name.slice(0, MAX_MATCHED_CHARS)))
  );
}

function quoted(text: string): string {
  return text.length > QUOTED_CHARS ? `"${text.slice(0, QUOTED_CHARS)}…"` : `"${text}"`;
}

/** Finds the playbook whose `match` fits the alert: any one rule of a playbook is enough. */
export function matchPlaybook(alert: Alert, playbooks: Iterable<Playbook>): MatchResult {
  if (alert.service) {
    for (const p of playbooks) if (p.service === alert.service) return { playbook: p };
    return { ignored: `no playbook for service "${alert.service}"` };
  }
  for (const p of playbooks) {
    const m = p.match;
    if (m.pagerduty_services?.some((id) => alert.serviceIds.includes(id))) return { playbook: p };
    if (labelsMatch(m.labels, alert.labels)) return { playbook: p };
    if (m.title && titleMatches(m.title, alert)) return { playbook: p };
  }
  const what = alert.serviceIds.length
    ? `PagerDuty service ${alert.serviceIds.join(', ')}`
    : quoted(alert.title);
  return { ignored: `no playbook matches ${what} (not a known service's 502)` };
}
