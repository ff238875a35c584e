import { GatewatchError } from '../errors.js';
import { zoneOffset } from '../zones.js';

const DAY_MS = 24 * 3600 * 1000;

/** An ISO-8601 week, `2026-W13`: Monday to Sunday, week 1 holds the year's first Thursday. */
export interface IsoWeek {
  year: number;
  week: number;
}

/** A civil (calendar) date, no time zone attached. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** The instants a week covers in one time zone: [start, end), local Monday 00:00 to the next. */
export interface WeekRange {
  week: string;
  tz: string;
  start: Date;
  end: Date;
  /** The seven local dates, Monday first, as YYYY-MM-DD. */
  days: string[];
}

const WEEK_RE = /^(\d{4})-W(\d{2})$/;

// Civil dates are computed as UTC midnights: plain day arithmetic with no zone in the way.
function civilToDays(d: CivilDate): number {
  return Date.UTC(d.year, d.month - 1, d.day) / DAY_MS;
}

function daysToCivil(days: number): CivilDate {
  const d = new Date(days * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** 1 = Monday … 7 = Sunday. */
function isoWeekday(days: number): number {
  return ((new Date(days * DAY_MS).getUTCDay() + 6) % 7) + 1;
}

function mondayOfWeekOne(year: number): number {
  const jan4 = civilToDays({ year, month: 1, day: 4 });
  return jan4 - (isoWeekday(jan4) - 1);
}

function weeksInYear(year: number): number {
  // 28 December always lies in the year's last ISO week.
  return isoWeekOfDays(civilToDays({ year, month: 12, day: 28 })).week;
}

function isoWeekOfDays(days: number): IsoWeek {
  const thursday = days + (4 - isoWeekday(days));
  const year = daysToCivil(thursday).year;
  return { year, week: Math.floor((thursday - mondayOfWeekOne(year)) / 7) + 1 };
}

export function formatWeek(w: IsoWeek): string {
  return `${w.year}-W${String(w.week).padStart(2, '0')}`;
}

function formatCivil(d: CivilDate): string {
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

/** Parses `YYYY-Www`; anything else, or a week the year does not have, is a usage error. */
export function parseWeek(text: string): IsoWeek {
  const m = WEEK_RE.exec(text.trim());
  const year = m ? Number(m[1]) : Number.NaN;
  const week = m ? Number(m[2]) : Number.NaN;
  if (!m || year < 1970 || week < 1 || week > weeksInYear(year))
    throw new GatewatchError(
      'CONFIG_INVALID',
      `"${text}" is not an ISO week; expected YYYY-Www, e.g. 2026-W13`,
    );
  return { year, week };
}

/** The zone's offset from UTC at an instant, in ms (positive east of Greenwich). */
export function zoneOffsetMs(instant: number, tz: string): number {
  return zoneOffset(tz)(instant);
}

/** The local calendar date of an instant in a zone. */
export function civilDateIn(instant: number, tz: string): CivilDate {
  return daysToCivil(Math.floor((instant + zoneOffsetMs(instant, tz)) / DAY_MS));
}

/**
 * The instant a local day begins. Midnight exists in most zones every day; where a
 * transition skips it (a spring-forward at 00:00) the day begins at the transition,
 * and where midnight happens twice the first one counts.
 */
export function startOfLocalDay(d: CivilDate, tz: string): Date {
  const wall = civilToDays(d) * DAY_MS;
  const before = zoneOffsetMs(wall - DAY_MS, tz);
  const after = zoneOffsetMs(wall + DAY_MS, tz);
  const valid = [wall - before, wall - after].filter((t) => zoneOffsetMs(t, tz) === wall - t);
  return new Date(valid.length > 0 ? Math.min(...valid) : wall - before);
}

/** The instants of an ISO week in a zone: Monday 00:00 local to the next Monday 00:00 local. */
export function weekRange(week: IsoWeek | string, tz: string): WeekRange {
  const w = typeof week === 'string' ? parseWeek(week) : week;
  const monday = mondayOfWeekOne(w.year) + (w.week - 1) * 7;
  return {
    week: formatWeek(w),
    tz,
    start: startOfLocalDay(daysToCivil(monday), tz),
    end: startOfLocalDay(daysToCivil(monday + 7), tz),
    days: Array.from({ length: 7 }, (_, i) => formatCivil(daysToCivil(monday + i))),
  };
}

/** The ISO week an instant falls in, by its local date in the zone. */
export function weekOf(instant: Date | number, tz: string): IsoWeek {
  return isoWeekOfDays(civilToDays(civilDateIn(+instant, tz)));
}

/** The week before. */
export function previousWeek(week: IsoWeek | string): IsoWeek {
  const w = typeof week === 'string' ? parseWeek(week) : week;
  return isoWeekOfDays(mondayOfWeekOne(w.year) + (w.week - 2) * 7);
}

/** The last week that has fully ended in the zone: the digest's default. */
export function lastCompleteWeek(now: Date | number, tz: string): IsoWeek {
  return previousWeek(weekOf(now, tz));
}

/** 0 (Monday) … 6 (Sunday): which day of the week an instant falls on, locally; -1 outside the week. */
export function dayIndexIn(range: WeekRange, instant: number): number {
  return range.days.indexOf(formatCivil(civilDateIn(instant, range.tz)));
}
