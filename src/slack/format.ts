import type { Incident } from '../ingest/incident.js';
import type { Recommendation, Verdict } from '../verdict/types.js';

export type Block = { type: string; [key: string]: unknown };

export const LIMITS = { blocks: 50, sectionText: 3000, header: 150, contextElements: 10 } as const;

const HEADLINE: Record<Recommendation, string> = {
  fix: 'FIX',
  'scale-up': 'SCALE UP',
  investigate: 'INVESTIGATE',
  none: 'NO ACTION',
};

const ICON: Record<Recommendation, string> = {
  fix: ':wrench:',
  'scale-up': ':chart_with_upwards_trend:',
  investigate: ':mag:',
  none: ':white_check_mark:',
};

const STATUS_ICON: Record<string, string> = {
  ok: ':large_green_circle:',
  warn: ':large_yellow_circle:',
  fail: ':red_circle:',
  error: ':warning:',
  skipped: ':white_circle:',
};

/** mrkdwn needs &, < and > escaped; everything else passes. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function truncate(text: string, max: number, note = '… (truncated)'): string {
  return text.length <= max ? text : text.slice(0, Math.max(0, max - note.length)) + note;
}

function minutesBetween(a: string, b: string): number {
  return Math.max(0, Math.round((Date.parse(b) - Date.parse(a)) / 60_000));
}

export function rootText(inc: Incident): string {
  const where =
    inc.source === 'slack' ? `requested by <@${inc.requestedBy}>` : `${inc.source} ${inc.externalId}`;
  const state =
    inc.state === 'resolved' && inc.resolvedAt
      ? `:white_check_mark: resolved after ${minutesBetween(inc.onsetAt, inc.resolvedAt)} min`
      : inc.state === 'acknowledged'
        ? ':eyes: acknowledged'
        : inc.state === 'diagnosed' && inc.verdict
          ? `${ICON[inc.verdict.recommendation]} ${HEADLINE[inc.verdict.recommendation]}: ${inc.verdict.cause}`
          : ':hourglass_flowing_sand: diagnosing';
  const alerts = inc.alertCount > 1 ? ` · ${inc.alertCount} alerts` : '';
  const title = inc.source === 'slack' ? 'Check' : '502s';
  return `:rotating_light: ${title} on *${escapeMrkdwn(inc.service)}*: ${escapeMrkdwn(inc.title)} · ${where} · ${state}${alerts}`;
}

export function rootMessage(inc: Incident): { text: string; blocks: Block[] } {
  const text = rootText(inc);
  const link = inc.url ? `<${inc.url}|${escapeMrkdwn(inc.externalId)}>` : escapeMrkdwn(inc.externalId);
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `incident ${link} · onset ${inc.onsetAt} · gatewatch ${escapeMrkdwn(inc.id)}`,
          },
        ],
      },
    ],
  };
}

export function verdictText(v: Verdict): string {
  const lines = [
    `${HEADLINE[v.recommendation]}: ${v.summary}`,
    ...v.actions.map((a, i) => `${i + 1}. ${a}`),
    ...(v.trigger
      ? [`Trigger: ${v.trigger.kind} ${v.trigger.ref} (${v.trigger.minutes_before_onset} min before onset)`]
      : []),
    ...(v.capacity
      ? [
          `Capacity: ${v.capacity.instances} → ${v.capacity.suggested_instances} ${v.capacity.resource} instances`,
        ]
      : []),
    `cause ${v.cause} · confidence ${Math.round(v.confidence * 100)}% · ${v.duration_ms} ms`,
  ];
  return truncate(lines.join('\n'), 3900);
}

export function verdictBlocks(v: Verdict): Block[] {
  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: truncate(`${HEADLINE[v.recommendation]}: ${v.cause}`, LIMITS.header, '…'),
      },
    },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(escapeMrkdwn(v.summary), LIMITS.sectionText) },
    },
  ];
  if (v.actions.length > 0)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(
          v.actions.map((a, i) => `${i + 1}. ${escapeMrkdwn(a)}`).join('\n'),
          LIMITS.sectionText,
        ),
      },
    });
  if (v.trigger)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(
          `*Trigger:* ${v.trigger.kind} \`${escapeMrkdwn(v.trigger.ref)}\` ${escapeMrkdwn(v.trigger.summary)} (${v.trigger.minutes_before_onset} min before onset)`,
          LIMITS.sectionText,
        ),
      },
    });
  if (v.capacity)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Capacity:* ${v.capacity.resource} at ${Math.round(v.capacity.utilisation * 100)}% on ${v.capacity.instances} → ${v.capacity.suggested_instances} instances for ${Math.round(v.capacity.target_utilisation * 100)}%`,
      },
    });
  const evidence = v.checks
    .map(
      (c) =>
        `${STATUS_ICON[c.status] ?? ''} *${c.name}* ${c.status} (${c.duration_ms} ms): ${escapeMrkdwn(c.summary)}`,
    )
    .join('\n');
  if (evidence)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(evidence, LIMITS.sectionText) } });
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `cause \`${v.cause}\` · confidence ${Math.round(v.confidence * 100)}% · ${v.duration_ms} ms`,
      },
    ],
  });
  return blocks.slice(0, LIMITS.blocks);
}

export function verdictMetadata(v: Verdict) {
  return { event_type: 'gatewatch_verdict', event_payload: { ...v } as Record<string, unknown> };
}
