import { type Incident, isOpen } from '../store/incident.js';
import { isCause } from '../verdict/causes/index.js';
import { CAUSES, type Cause, type Recommendation } from '../verdict/types.js';
import type {
  CapacityQuestion,
  CauseCount,
  DayBucket,
  Digest,
  OpenIncident,
  ServiceDigest,
  VerdictMix,
  WeekChange,
  WeekStats,
} from './types.js';
import { dayIndexIn, type IsoWeek, previousWeek, type WeekRange, weekRange } from './week.js';

/** A service with this many incidents in one week is a repeat offender. */
export const REPEAT_OFFENDER_MIN = 3;
/** This many scale-ups of one service in a week: capacity needs planning, not another emergency. */
export const SCALE_UP_MIN = 2;
/** The same fixable cause this many times in a week: the fix so far did not reach the root. */
export const SAME_CAUSE_MIN = 2;
/** This many verdicts of one service marked wrong: its playbook misleads gatewatch. */
export const WRONG_MIN = 2;

const TOP_CAUSES = 3;
/** How far back the per-service headline (scale-up against fix) looks. */
export const CAPACITY_WEEKS = 4;

/** An incident, not a check run: `/gateway check` runs are not problems that happened. */
function isIncident(i: Incident): boolean {
  return !i.requestedBy;
}

function markedWrong(i: Incident): boolean {
  return i.verdict !== null && i.feedback !== null && i.feedback !== i.verdict.cause;
}

/** The cause that held: a person's correction wins over the verdict; an unrecognised correction is 'unknown'. */
export function causeThatHeld(i: Incident): Cause | null {
  if (!i.verdict) return null;
  if (!markedWrong(i)) return i.verdict.cause;
  return isCause(i.feedback!) ? i.feedback : 'unknown';
}

function inRange(i: Incident, r: WeekRange): boolean {
  const onset = Date.parse(i.onsetAt);
  return onset >= r.start.getTime() && onset < r.end.getTime();
}

/** Onset → resolve; an incident still open counts up to the week's end or now, whichever comes first. */
function badGatewayMs(i: Incident, r: WeekRange, now: number): number {
  const onset = Date.parse(i.onsetAt);
  const until = isOpen(i)
    ? Math.min(r.end.getTime(), now)
    : Date.parse(i.resolvedAt ?? i.lastAlertAt) || onset;
  return Math.max(0, until - onset);
}

function mean(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

function sinceOnset(i: Incident, at: string | null): number | null {
  return at === null ? null : Math.max(0, Date.parse(at) - Date.parse(i.onsetAt));
}

function countCauses(incidents: Incident[]): CauseCount[] {
  const counts = new Map<Cause, number>();
  for (const i of incidents) {
    const c = causeThatHeld(i);
    if (c) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return [...counts]
    .map(([cause, count]) => ({ cause, count }))
    .sort((a, b) => b.count - a.count || a.cause.localeCompare(b.cause));
}

function stats(incidents: Incident[], r: WeekRange, now: number): WeekStats {
  const verdictMix: VerdictMix = { fix: 0, 'scale-up': 0, investigate: 0, none: 0, no_verdict: 0 };
  for (const i of incidents) verdictMix[i.verdict?.recommendation ?? 'no_verdict'] += 1;
  const withVerdict = incidents.length - verdictMix.no_verdict;
  const wrong = incidents.filter(markedWrong).length;
  const reviewed = incidents.filter((i) => i.verdict !== null && i.feedback !== null).length;
  const acks = incidents.map((i) => sinceOnset(i, i.acknowledgedAt)).filter((v) => v !== null);
  const resolves = incidents
    .filter((i) => !isOpen(i))
    .map((i) => sinceOnset(i, i.resolvedAt))
    .filter((v) => v !== null);
  return {
    incidents: incidents.length,
    open: incidents.filter(isOpen).length,
    badGatewayMs: incidents.reduce((sum, i) => sum + badGatewayMs(i, r, now), 0),
    mttaMs: mean(acks),
    mttrMs: mean(resolves),
    verdictMix,
    causes: countCauses(incidents).slice(0, TOP_CAUSES),
    withVerdict,
    markedWrong: wrong,
    reviewed,
    notReviewed: withVerdict - reviewed,
    accuracy: reviewed === 0 ? null : (reviewed - wrong) / reviewed,
  };
}

function change(now: WeekStats, before: WeekStats): WeekChange {
  return {
    previous: { incidents: before.incidents, badGatewayMs: before.badGatewayMs, mttrMs: before.mttrMs },
    incidents: now.incidents - before.incidents,
    badGatewayMs: now.badGatewayMs - before.badGatewayMs,
    mttrMs: now.mttrMs === null || before.mttrMs === null ? null : now.mttrMs - before.mttrMs,
  };
}

function groupByService(incidents: Incident[]): Map<string, Incident[]> {
  const out = new Map<string, Incident[]>();
  for (const i of incidents) out.set(i.service, [...(out.get(i.service) ?? []), i]);
  return out;
}

/** What the week's pattern asks for, per service: plan capacity, fix at the root, or fix the playbook. */
function recommend(service: string, incidents: Incident[]): string[] {
  const held = incidents.map(causeThatHeld).filter((c): c is Cause => c !== null);
  const byRecommendation = (rec: Recommendation) => held.filter((c) => CAUSES[c] === rec);
  const out: string[] = [];
  const scaleUps = byRecommendation('scale-up');
  if (scaleUps.length >= SCALE_UP_MIN)
    out.push(
      `${service}: needed scale-up ${scaleUps.length} times (${[...new Set(scaleUps)].sort().join(', ')}): plan capacity`,
    );
  for (const { cause, count } of countCauses(incidents))
    if (CAUSES[cause] === 'fix' && count >= SAME_CAUSE_MIN)
      out.push(`${service}: same cause ${cause} ${count} times: fix it at the root`);
  const wrong = incidents.filter(markedWrong).length;
  if (wrong >= WRONG_MIN)
    out.push(`${service}: ${wrong} verdicts marked wrong: review its playbook's checks and thresholds`);
  return out;
}

/** Over the last weeks: how many incidents a scale-up would have cured, how many needed a fix, which fixes recur. */
function capacityQuestion(incidents: Incident[]): CapacityQuestion {
  const held = incidents.map(causeThatHeld);
  const by = (rec: Recommendation) => held.filter((c) => c !== null && CAUSES[c] === rec).length;
  const scaleUp = by('scale-up');
  const fix = by('fix');
  return {
    weeks: CAPACITY_WEEKS,
    incidents: incidents.length,
    scaleUp,
    fix,
    other: incidents.length - scaleUp - fix,
    recurringFixes: countCauses(incidents).filter((c) => CAUSES[c.cause] === 'fix' && c.count >= 2),
  };
}

function days(incidents: Incident[], r: WeekRange): DayBucket[] {
  const buckets: DayBucket[] = r.days.map((date) => ({ date, byCause: {} }));
  for (const i of incidents) {
    const bucket = buckets[dayIndexIn(r, Date.parse(i.onsetAt))];
    if (!bucket) continue;
    const key = causeThatHeld(i) ?? 'no_verdict';
    bucket.byCause[key] = (bucket.byCause[key] ?? 0) + 1;
  }
  return buckets;
}

/**
 * The weekly digest as data: a pure function of the incidents (any superset of the
 * week's; an incident belongs to the week its onset falls in, in `tz`).
 */
export function buildDigest(
  incidents: readonly Incident[],
  week: IsoWeek | string,
  previousWeekIncidents: readonly Incident[],
  tz: string,
  now: Date = new Date(),
  /** Incidents of (a superset of) the CAPACITY_WEEKS weeks ending with this one; this week's alone if not given. */
  recentIncidents: readonly Incident[] = incidents,
): Digest {
  const range = weekRange(week, tz);
  const before = weekRange(previousWeek(range.week), tz);
  const at = now.getTime();
  const current = incidents.filter((i) => isIncident(i) && inRange(i, range));
  const previous = previousWeekIncidents.filter((i) => isIncident(i) && inRange(i, before));
  const recentFrom = range.end.getTime() - CAPACITY_WEEKS * 7 * 24 * 3_600_000;
  const recentBy = groupByService(
    recentIncidents.filter((i) => {
      const onset = Date.parse(i.onsetAt);
      return isIncident(i) && onset >= recentFrom && onset < range.end.getTime();
    }),
  );
  const nowBy = groupByService(current);
  const beforeBy = groupByService(previous);
  const names = [...new Set([...nowBy.keys(), ...beforeBy.keys()])];
  const services: ServiceDigest[] = names
    .map((service) => {
      const s = stats(nowBy.get(service) ?? [], range, at);
      return {
        service,
        ...s,
        change: change(s, stats(beforeBy.get(service) ?? [], before, at)),
        lastWeeks: capacityQuestion(recentBy.get(service) ?? []),
      };
    })
    .sort(
      (a, b) =>
        b.incidents - a.incidents ||
        b.badGatewayMs - a.badGatewayMs ||
        b.change.previous.incidents - a.change.previous.incidents ||
        a.service.localeCompare(b.service),
    );
  const overall = stats(current, range, at);
  const openIncidents: OpenIncident[] = current
    .filter(isOpen)
    .sort((a, b) => Date.parse(a.onsetAt) - Date.parse(b.onsetAt))
    .map((i) => ({ id: i.id, service: i.service, onsetAt: i.onsetAt, cause: causeThatHeld(i) }));
  return {
    week: range.week,
    tz,
    start: range.start.toISOString(),
    end: range.end.toISOString(),
    generatedAt: now.toISOString(),
    overall: { ...overall, change: change(overall, stats(previous, before, at)) },
    services,
    repeatOffenders: services
      .filter((s) => s.incidents >= REPEAT_OFFENDER_MIN)
      .map((s) => ({ service: s.service, incidents: s.incidents })),
    recommendations: services.flatMap((s) => recommend(s.service, nowBy.get(s.service) ?? [])),
    openIncidents,
    days: days(current, range),
  };
}
