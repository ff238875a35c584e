import { zoneOffset } from '../../../zones.js';

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

export function monthIndex(name: string): number | undefined {
  return MONTHS[name.slice(0, 3).toLowerCase()];
}

/** Epoch ms of a wall-clock time (month 0-based) in some zone; null when it is no time. */
export type WallClock = (
  y: number,
  month: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms?: number,
) => number | null;

/**
 * nginx and HAProxy stamp their logs in the host's local time with no zone, so
 * without a playbook `timezone` a log is read in gatewatch's own zone.
 */
export const localTime: WallClock = (y, month, d, h, mi, s, ms = 0) => {
  const t = new Date(y, month, d, h, mi, s, ms).getTime();
  return Number.isNaN(t) ? null : t;
};

/** Reads wall-clock times as written in `timeZone` (an IANA name), daylight saving included. */
export function zonedClock(timeZone: string): WallClock {
  const offsetAt = zoneOffset(timeZone);
  return (y, month, d, h, mi, s, ms = 0) => {
    const wall = Date.UTC(y, month, d, h, mi, s, ms);
    if (Number.isNaN(wall)) return null;
    // First guess with the offset at the wall time read as UTC; again with the offset at that guess,
    // which differs only within hours of a daylight-saving change.
    const guess = wall - offsetAt(wall);
    return wall - offsetAt(guess);
  };
}

/** ISO 8601 with `Z`, `+01:00` or Envoy's `+0000`. */
export function isoTime(text: string): number | null {
  const t = Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(t) ? null : t;
}
