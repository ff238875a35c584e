import type { Incident, RelatedIncident } from '../store/incident.js';
import type { IncidentStore } from '../store/store.js';

/** Other services' incidents whose first alerts came within this of one another may be one outage. */
export const RELATED_WINDOW_MS = 15 * 60_000;
/** Incidents read at most to find them (a big outage opens many). */
const RELATED_READ = 25;

/**
 * Other services' open 502 incidents that began within RELATED_WINDOW_MS of this one: on-call sees
 * the blast radius in each verdict, and a shared cause (one database, one network) as one.
 * `/gateway check` runs are not incidents and are left out, on either side.
 */
export async function relatedIncidents(store: IncidentStore, inc: Incident): Promise<RelatedIncident[]> {
  if (inc.requestedBy) return [];
  const at = Date.parse(inc.firstAlertAt);
  if (!Number.isFinite(at)) return [];
  const near = await store.openedNear(at, RELATED_WINDOW_MS, RELATED_READ);
  const seen = new Set([inc.service]);
  const out: RelatedIncident[] = [];
  for (const o of near) {
    if (o.state === 'resolved' || o.requestedBy || seen.has(o.service)) continue;
    seen.add(o.service);
    out.push({ id: o.id, service: o.service, cause: o.verdict?.cause ?? null });
  }
  return out;
}
