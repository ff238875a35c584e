/** Minutes from an API timestamp to the onset (negative when after it); null for a missing or bad timestamp. */
export function minutesBefore(at: string | null | undefined, onsetAt: number): number | null {
  if (!at) return null;
  const t = Date.parse(at);
  return Number.isFinite(t) ? Math.round(((onsetAt - t) / 60_000) * 10) / 10 : null;
}

/** Within the window before the onset, allowing a minute of clock skew after it. */
export function inWindow(minutes: number | null, windowMinutes: number): boolean {
  return minutes !== null && minutes <= windowMinutes && minutes >= -1;
}
