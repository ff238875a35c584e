/** Whether the runtime knows an IANA zone name (`Europe/Berlin`, `UTC`). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * The zone's offset from UTC at an instant, in ms (positive east of Greenwich).
 * The formatter is made once per zone: callers convert many instants with it.
 */
export function zoneOffset(timeZone: string): (instant: number) => number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return (instant) => {
    const part: Record<string, number> = {};
    for (const p of format.formatToParts(new Date(instant))) part[p.type] = Number(p.value);
    const wall = Date.UTC(
      part.year ?? 0,
      (part.month ?? 1) - 1,
      part.day,
      part.hour,
      part.minute,
      part.second,
    );
    return wall - Math.floor(instant / 1000) * 1000;
  };
}
