import type { CapacityQuestion, CauseCount, Digest, VerdictMix, WeekChange, WeekStats } from './types.js';

/** Phrases both renderings share, so the text digest and the Slack blocks say the same thing. */

export function duration(ms: number | null): string {
  if (ms === null) return 'n/a';
  const min = Math.round(ms / 60_000);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

function signed(n: number, unit = ''): string {
  if (n === 0) return `±0${unit}`;
  return `${n > 0 ? '+' : '-'}${Math.abs(n)}${unit}`;
}

function signedDuration(ms: number): string {
  const min = Math.round(ms / 60_000);
  return min === 0 ? '±0 min' : `${min > 0 ? '+' : '-'}${duration(Math.abs(ms))}`;
}

export function percent(share: number | null): string {
  return share === null ? 'n/a' : `${Math.round(share * 100)}%`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function incidentsLine(s: WeekStats, c: WeekChange): string {
  return [
    `${plural(s.incidents, 'incident')} (${signed(c.incidents)} vs last week)`,
    ...(s.open > 0 ? [`${s.open} open`] : []),
    `502 time ${duration(s.badGatewayMs)} (${signedDuration(c.badGatewayMs)})`,
    `MTTA ${duration(s.mttaMs)}`,
    `MTTR ${duration(s.mttrMs)}${c.mttrMs === null ? '' : ` (${signedDuration(c.mttrMs)})`}`,
  ].join(' · ');
}

export function verdictMixLine(m: VerdictMix): string {
  const parts = [
    `fix ${m.fix}`,
    `scale-up ${m['scale-up']}`,
    `investigate ${m.investigate}`,
    `none ${m.none}`,
  ];
  if (m.no_verdict > 0) parts.push(`no verdict ${m.no_verdict}`);
  return parts.join(' · ');
}

export function causesLine(causes: CauseCount[]): string {
  return causes.length === 0 ? 'none' : causes.map((c) => `${c.cause} ${c.count}`).join(' · ');
}

/** What people said of the verdicts, and how many nobody looked at: never a rate for unreviewed ones. */
export function feedbackLine(s: WeekStats): string {
  if (s.withVerdict === 0) return 'n/a (no verdicts)';
  return `${s.markedWrong} marked wrong of ${s.reviewed} reviewed; ${s.notReviewed} not reviewed`;
}

/** The headline teams ask for when 502s are frequent: do we need bigger servers? */
export function capacityQuestionLine(q: CapacityQuestion): string {
  if (q.incidents === 0) return `no incidents in the last ${q.weeks} weeks`;
  const recurring =
    q.recurringFixes.length > 0
      ? ` (recurring: ${q.recurringFixes.map((c) => `${c.cause} ×${c.count}`).join(', ')})`
      : '';
  const other = q.other > 0 ? `; ${q.other} recovered or unclear` : '';
  return `last ${q.weeks} weeks: a scale-up would have cured ${q.scaleUp} of ${plural(q.incidents, 'incident')}; ${q.fix} needed a fix${recurring}${other}`;
}

/** An instant as a person in the digest's zone reads it: "Sun 29 Mar 23:30". */
export function localTime(iso: string, tz: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  })
    .format(new Date(iso))
    .replace(',', '');
}

export function title(d: Digest): string {
  const first = d.days[0]?.date ?? '';
  const last = d.days[d.days.length - 1]?.date ?? '';
  return `Weekly reliability digest ${d.week} (${first} to ${last}, ${d.tz})`;
}

export function emptyLine(d: Digest): string {
  const before = d.overall.change.previous.incidents;
  return `No 502 incidents this week (${plural(before, 'incident')} the week before).`;
}

export const FOOTNOTE =
  "502 time runs from onset to resolve; an open incident counts to the week's end or now. MTTA and MTTR are measured from onset.";
