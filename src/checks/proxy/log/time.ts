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

/**
 * nginx and HAProxy stamp their logs in the host's local time with no zone, so a
 * log read on the proxy's host is read in that host's zone.
 */
export function localTime(y: number, month: number, d: number, h: number, mi: number, s: number, ms = 0) {
  const t = new Date(y, month, d, h, mi, s, ms).getTime();
  return Number.isNaN(t) ? null : t;
}

/** ISO 8601 with `Z`, `+01:00` or Envoy's `+0000`. */
export function isoTime(text: string): number | null {
  const t = Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(t) ? null : t;
}
