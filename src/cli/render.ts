import type { Verdict } from '../verdict/types.js';

const HEAD: Record<Verdict['recommendation'], string> = {
  fix: 'FIX',
  'scale-up': 'SCALE UP',
  investigate: 'INVESTIGATE',
  none: 'NO ACTION',
};

/** A verdict as a person reads it in a terminal. */
export function renderVerdict(v: Verdict): string {
  const lines = [
    `${HEAD[v.recommendation]} — ${v.cause} (confidence ${Math.round(v.confidence * 100)}%)`,
    v.summary,
    '',
    ...v.actions.map((a, i) => `  ${i + 1}. ${a}`),
  ];
  if (v.trigger)
    lines.push(
      '',
      `  trigger: ${v.trigger.kind} ${v.trigger.ref} — ${v.trigger.summary} (${v.trigger.minutes_before_onset} min before onset)`,
    );
  if (v.capacity)
    lines.push(
      '',
      `  capacity: ${v.capacity.resource} ${Math.round(v.capacity.utilisation * 100)}% on ${v.capacity.instances} → ${v.capacity.suggested_instances} instances`,
    );
  lines.push('', '  evidence:');
  for (const c of v.checks)
    lines.push(
      `    ${c.status.padEnd(7)} ${c.name.padEnd(9)} ${String(c.duration_ms).padStart(5)} ms  ${c.summary}`,
    );
  return lines.join('\n');
}
