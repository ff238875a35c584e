import type { Incident } from '../store/incident.js';
import type { IncidentStore } from '../store/store.js';
import type { WeekRange } from './week.js';

const DAY_MS = 24 * 3600 * 1000;

/**
 * The time index is scored by the first alert, while a week is counted by onset, which
 * comes first; an alert later than this after its onset would be missed.
 */
const ONSET_TO_ALERT_MARGIN_MS = DAY_MS;

/** The store's history queries, by week: what the digest reads. */
export class IncidentHistory {
  constructor(private readonly store: Pick<IncidentStore, 'between' | 'trimHistory'>) {}

  /** Every incident that can have its onset in the week (buildDigest keeps exactly those). */
  forWeek(range: WeekRange): Promise<Incident[]> {
    return this.store.between(range.start.getTime(), range.end.getTime() + ONSET_TO_ALERT_MARGIN_MS);
  }

  /** Every incident that can have its onset in the `weeks` weeks ending with this one. */
  forWeeksEnding(range: WeekRange, weeks: number): Promise<Incident[]> {
    const from = range.end.getTime() - weeks * 7 * DAY_MS;
    return this.store.between(from, range.end.getTime() + ONSET_TO_ALERT_MARGIN_MS);
  }

  /** Drops index entries older than the retention (the incident hashes expire on their own). */
  trim(now: Date): Promise<number> {
    return this.store.trimHistory(now);
  }
}
