import type { Playbook } from '../playbooks/schema.js';
import type { Alert } from './types.js';

export type MatchResult = { playbook: Playbook } | { ignored: string };

function labelsMatch(want: Record<string, string> | undefined, have: Record<string, string>): boolean {
  if (!want || Object.keys(want).length === 0) return false;
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

/** The title rule reads the alert's title (a summary) and, for Prometheus-style alerts, its alert name. */
function titleMatches(pattern: string, alert: Alert): boolean {
  const re = new RegExp(pattern, 'i');
  const name = alert.labels.alertname;
  return re.test(alert.title) || (name !== undefined && re.test(name));
}

/** Finds the playbook whose `match` fits the alert: any one rule of a playbook is enough. */
export function matchPlaybook(alert: Alert, playbooks: Iterable<Playbook>): MatchResult {
  const all = [...playbooks];
  if (alert.service) {
    const named = all.find((p) => p.service === alert.service);
    return named ? { playbook: named } : { ignored: `no playbook for service "${alert.service}"` };
  }
  for (const p of all) {
    const m = p.match;
    if (m.pagerduty_services?.some((id) => alert.serviceIds.includes(id))) return { playbook: p };
    if (labelsMatch(m.labels, alert.labels)) return { playbook: p };
    if (m.title && titleMatches(m.title, alert)) return { playbook: p };
  }
  const what = alert.serviceIds.length
    ? `PagerDuty service ${alert.serviceIds.join(', ')}`
    : `"${alert.title}"`;
  return { ignored: `no playbook matches ${what} (not a known service's 502)` };
}
