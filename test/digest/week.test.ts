import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatWeek,
  lastCompleteWeek,
  parseWeek,
  previousWeek,
  weekOf,
  weekRange,
} from '../../src/digest/week.js';
import { isGatewatchError } from '../../src/errors.js';

const HOUR = 3600_000;

describe('ISO weeks in a time zone', () => {
  it.each([
    ['2026-W13', 'Europe/Berlin', '2026-03-22T23:00:00.000Z', '2026-03-29T22:00:00.000Z', 167],
    ['2026-W43', 'Europe/Berlin', '2026-10-18T22:00:00.000Z', '2026-10-25T23:00:00.000Z', 169],
    ['2026-W10', 'America/New_York', '2026-03-02T05:00:00.000Z', '2026-03-09T04:00:00.000Z', 167],
    ['2026-W44', 'America/New_York', '2026-10-26T04:00:00.000Z', '2026-11-02T05:00:00.000Z', 169],
    ['2026-W01', 'UTC', '2025-12-29T00:00:00.000Z', '2026-01-05T00:00:00.000Z', 168],
    ['2020-W53', 'Asia/Tokyo', '2020-12-27T15:00:00.000Z', '2021-01-03T15:00:00.000Z', 168],
  ])('%s in %s runs from %s to %s (%i h)', (week, tz, start, end, hours) => {
    const r = weekRange(week, tz);
    expect(r.start.toISOString()).toBe(start);
    expect(r.end.toISOString()).toBe(end);
    expect((r.end.getTime() - r.start.getTime()) / HOUR).toBe(hours);
    expect(r.days).toHaveLength(7);
  });

  it('a zone whose clocks skip midnight starts that day at the jump (America/Santiago, 8 Sep 2024)', () => {
    // 2024-W36 ends on Monday 9 September; its Sunday began at 01:00 local (04:00Z) after the jump.
    expect(weekRange('2024-W37', 'America/Santiago').start.toISOString()).toBe('2024-09-09T03:00:00.000Z');
    expect(weekOf(new Date('2024-09-08T04:00:00Z'), 'America/Santiago')).toEqual({ year: 2024, week: 36 });
  });

  it.each(['2026-13', '2026-W00', '2025-W53', '2026-W54', 'W13', '2026-w13', '', '2026-W1'])(
    'rejects %j as a usage error',
    (text) => {
      let err: unknown;
      try {
        parseWeek(text);
      } catch (e) {
        err = e;
      }
      expect(isGatewatchError(err, 'CONFIG_INVALID')).toBe(true);
    },
  );

  it('knows the years with 53 weeks', () => {
    expect(formatWeek(parseWeek('2026-W53'))).toBe('2026-W53');
    expect(formatWeek(previousWeek('2027-W01'))).toBe('2026-W53');
    expect(formatWeek(previousWeek('2026-W01'))).toBe('2025-W52');
  });

  it('the default week is the last complete one in the zone', () => {
    // Monday 09:00 in Berlin is 08:00Z; Sunday 23:30 in New York is already Monday in UTC.
    expect(formatWeek(lastCompleteWeek(new Date('2026-03-30T07:00:00Z'), 'Europe/Berlin'))).toBe('2026-W13');
    expect(formatWeek(lastCompleteWeek(new Date('2026-03-30T03:30:00Z'), 'America/New_York'))).toBe(
      '2026-W12',
    );
    expect(formatWeek(lastCompleteWeek(new Date('2026-03-30T03:30:00Z'), 'UTC'))).toBe('2026-W13');
  });

  it('every instant lies in the range of its own week, in any zone', () => {
    const zones = [
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
      'America/Santiago',
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) }),
        fc.constantFrom(...zones),
        (t, tz) => {
          const r = weekRange(weekOf(t, tz), tz);
          expect(r.start.getTime()).toBeLessThanOrEqual(t);
          expect(t).toBeLessThan(r.end.getTime());
          // Consecutive weeks tile time: this week starts where the previous one ended.
          expect(weekRange(previousWeek(r.week), tz).end.getTime()).toBe(r.start.getTime());
        },
      ),
      { numRuns: 300 },
    );
  });
});
