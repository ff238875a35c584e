import type { MessageMetadata } from '@slack/web-api';
import type { CheckResult } from '../checks/types.js';
import type { Incident } from '../store/incident.js';
import type { Recommendation, Verdict } from '../verdict/types.js';
import { CAUSE_TEXT } from './causes.js';

export type Block = { type: string; [key: string]: unknown };

/** Slack's documented Block Kit limits for messages (see test/fixtures/slack/FACTS.md). */
export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  header: 150,
  contextElements: 10,
  buttonText: 75,
  /** Slack rejects messages whose blocks total roughly 13k characters; stay well below. */
  totalText: 11_000,
  /** Message text above ~4000 characters is cut by clients; the fallback stays under it. */
  fallbackText: 3900,
} as const;

/** How much of the total text budget each part of a verdict may take. */
const BUDGET = {
  summary: 1500,
  trigger: 600,
  actions: 3800,
  evidence: 3800,
  actionLine: 500,
  evidenceLine: 400,
};

export const TRUNCATED = '… (truncated)';

export const ACTION_IDS = {
  rerun: 'gatewatch_rerun',
  acknowledge: 'gatewatch_ack',
  wrong: 'gatewatch_wrong',
  feedback: 'gatewatch_feedback',
} as const;

export const HEADLINE: Record<Recommendation, string> = {
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

/**
 * For text gatewatch did not write (commit subjects, change summaries, authors):
 * mrkdwn-escaped, and since Slack has no escape for `*`, `_`, `~` and backquote, a
 * zero-width space after each keeps them from pairing into bold, italics, strikes or code.
 */
export function escapeUntrusted(text: string): string {
  return escapeMrkdwn(text).replace(/[*_~`]/g, '$&\u200b');
}

export function truncate(text: string, max: number, note = TRUNCATED): string {
  return text.length <= max ? text : text.slice(0, Math.max(0, max - note.length)) + note;
}

/** Escaped and cut to `max`: cut first so an entity is never split, then again in case escaping grew it. */
function clip(raw: string, max: number, escapeText = escapeMrkdwn): string {
  return truncate(escapeText(truncate(raw, max)), max);
}

function mrkdwnSection(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) } };
}

function contextBlock(text: string): Block {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) }] };
}

/**
 * Packs lines into as few sections as fit Slack's per-section limit, within a
 * character budget; what does not fit is counted, so the caller can say so.
 */
function packLines(lines: readonly string[], budget: number): { sections: Block[]; left: number } {
  const sections: string[] = [];
  let current = '';
  let used = 0;
  let shown = 0;
  for (const line of lines) {
    if (used + line.length + 1 > budget) break;
    if (current && current.length + line.length + 1 > LIMITS.sectionText) {
      sections.push(current);
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
    used += line.length + 1;
    shown += 1;
  }
  if (current) sections.push(current);
  return { sections: sections.map(mrkdwnSection), left: lines.length - shown };
}

function minutesBetween(a: string, b: string): number {
  return Math.max(0, Math.round((Date.parse(b) - Date.parse(a)) / 60_000));
}

/** The live progress of a diagnosis run, shown on the root message while checks finish. */
export interface CheckProgress {
  planned: readonly string[];
  done: readonly Pick<CheckResult, 'name' | 'status' | 'duration_ms'>[];
}

function stateText(inc: Incident): string {
  if (inc.state === 'resolved' && inc.resolvedAt)
    return `:white_check_mark: resolved after ${minutesBetween(inc.onsetAt, inc.resolvedAt)} min`;
  if (inc.state === 'acknowledged') return ':eyes: acknowledged';
  if (inc.state === 'diagnosed' && inc.verdict)
    return `${ICON[inc.verdict.recommendation]} ${HEADLINE[inc.verdict.recommendation]}: ${inc.verdict.cause}`;
  return ':hourglass_flowing_sand: diagnosing';
}

function sourceText(inc: Incident): string {
  return inc.source === 'slack' ? `requested by <@${inc.requestedBy}>` : `${inc.source} ${inc.externalId}`;
}

/** The root message's notification text, also its fallback. */
export function rootText(inc: Incident): string {
  const alerts = inc.alertCount > 1 ? ` · ${inc.alertCount} alerts` : '';
  const title = inc.source === 'slack' ? 'Check' : '502s';
  return `:rotating_light: ${title} on *${escapeMrkdwn(inc.service)}*: ${escapeUntrusted(inc.title)} · ${sourceText(inc)} · ${stateText(inc)}${alerts}`;
}

function progressText(p: CheckProgress): string {
  const done = new Map(p.done.map((r) => [r.name as string, r]));
  const parts = p.planned.map((name) => {
    const r = done.get(name);
    return r
      ? `${STATUS_ICON[r.status] ?? ''} ${name} ${r.status} ${r.duration_ms} ms`
      : `:hourglass_flowing_sand: ${name}`;
  });
  return `Checks ${p.done.length}/${p.planned.length}: ${parts.join(' · ')}`;
}

/** The incident's one root message: service, source, incident link, state, and checks as they finish. */
export function rootMessage(inc: Incident, progress?: CheckProgress): { text: string; blocks: Block[] } {
  const text = rootText(inc);
  const link = inc.url
    ? `<${inc.url}|${escapeMrkdwn(inc.externalId)}>`
    : inc.source === 'slack'
      ? escapeMrkdwn(inc.id)
      : escapeMrkdwn(inc.externalId);
  const title = inc.source === 'slack' ? 'Check' : '502s';
  const alerts = inc.alertCount > 1 ? ` · ${inc.alertCount} alerts` : '';
  const blocks: Block[] = [
    mrkdwnSection(
      `:rotating_light: *${title} on ${clip(inc.service, 200)}* — ${clip(inc.title, 1000, escapeUntrusted)}${alerts}`,
    ),
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Service*\n${clip(inc.service, 1000)}` },
        { type: 'mrkdwn', text: `*Source*\n${truncate(sourceText(inc), 1000)}` },
        { type: 'mrkdwn', text: `*Incident*\n${truncate(link, 1500)}` },
        { type: 'mrkdwn', text: `*State*\n${stateText(inc)}` },
      ],
    },
  ];
  if (progress && progress.planned.length > 0) blocks.push(contextBlock(progressText(progress)));
  blocks.push(contextBlock(`onset ${inc.onsetAt} · gatewatch ${escapeMrkdwn(inc.id)} · run ${inc.run}`));
  return { text, blocks };
}

function triggerLine(v: Verdict): string | null {
  if (!v.trigger) return null;
  const t = v.trigger;
  const by = t.author ? `, by ${t.author}` : '';
  return `${t.kind} ${t.ref} — ${t.summary}${by} (${t.minutes_before_onset} min before onset, ${t.at})`;
}

function capacityLine(v: Verdict): string | null {
  if (!v.capacity) return null;
  const c = v.capacity;
  return `${c.resource} at ${Math.round(c.utilisation * 100)}% on ${c.instances} instance${c.instances === 1 ? '' : 's'} → ${c.suggested_instances} instances bring it under ${Math.round(c.target_utilisation * 100)}%`;
}

/** The verdict's text lines: a headline, the body (which carries words from outside), a trailer. */
function verdictLines(v: Verdict): { head: string; body: string[]; tail: string } {
  const trigger = triggerLine(v);
  const capacity = capacityLine(v);
  return {
    head: `${HEADLINE[v.recommendation]} — ${v.service}: ${CAUSE_TEXT[v.cause]}`,
    body: [
      v.summary,
      ...v.actions.map((a, i) => `${i + 1}. ${a}`),
      ...(trigger ? [`Trigger: ${trigger}`] : []),
      ...(capacity ? [`Capacity: ${capacity}`] : []),
      ...v.checks.map((c) => `[${c.status}] ${c.name} (${c.duration_ms} ms): ${c.summary}`),
    ],
    tail: `cause ${v.cause} · confidence ${Math.round(v.confidence * 100)}% · ${v.duration_ms} ms`,
  };
}

/** The verdict as plain text: the PagerDuty note, the CLI. */
export function verdictText(v: Verdict): string {
  const { head, body, tail } = verdictLines(v);
  return truncate([head, ...body, tail].join('\n'), LIMITS.fallbackText);
}

/** The verdict's Slack `text` (notification and accessibility fallback): mrkdwn, so escaped. */
export function verdictFallbackText(v: Verdict): string {
  const { head, body, tail } = verdictLines(v);
  const lines = [escapeMrkdwn(head), ...body.map(escapeUntrusted), tail];
  return truncate(lines.join('\n'), LIMITS.fallbackText);
}

export interface VerdictButtons {
  incidentId: string;
  /** Offer "Acknowledge" only where there is a PagerDuty incident to acknowledge. */
  acknowledge: boolean;
}

function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger'): Block {
  return {
    type: 'button',
    text: { type: 'plain_text', text: truncate(text, LIMITS.buttonText, '…'), emoji: true },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  };
}

/**
 * The verdict reply in Block Kit: the recommendation as the headline, the cause
 * in plain words, actions, one evidence line per check, capacity and trigger.
 * Within Slack's limits whatever the verdict holds; anything cut says so.
 */
export function verdictBlocks(v: Verdict, buttons?: VerdictButtons): Block[] {
  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: truncate(
          `${ICON[v.recommendation]} ${HEADLINE[v.recommendation]} — ${v.service}`,
          LIMITS.header,
          '…',
        ),
        emoji: true,
      },
    },
    mrkdwnSection(
      `*${CAUSE_TEXT[v.cause]}*\n${clip(v.summary, BUDGET.summary)}\n_cause_ \`${v.cause}\` · _confidence_ ${Math.round(v.confidence * 100)}%`,
    ),
  ];
  let truncated = false;

  const trigger = triggerLine(v);
  if (trigger)
    blocks.push(mrkdwnSection(`:rewind: *Trigger:* ${clip(trigger, BUDGET.trigger, escapeUntrusted)}`));

  if (v.actions.length > 0) {
    const lines = v.actions.map((a, i) => `${i + 1}. ${clip(a, BUDGET.actionLine)}`);
    const packed = packLines([`*Actions*`, ...lines], BUDGET.actions);
    blocks.push(...packed.sections);
    if (packed.left > 0) {
      truncated = true;
      blocks.push(contextBlock(`:scissors: ${packed.left} more actions not shown (truncated)`));
    }
  }

  const capacity = capacityLine(v);
  if (capacity) blocks.push(mrkdwnSection(`:bar_chart: *Capacity:* ${escapeMrkdwn(capacity)}`));

  if (v.checks.length > 0) {
    const lines = v.checks.map(
      (c) =>
        `${STATUS_ICON[c.status] ?? ''} *${c.name}* ${c.status} · ${c.duration_ms} ms — ${clip(c.summary, BUDGET.evidenceLine)}`,
    );
    const packed = packLines([`*Evidence*`, ...lines], BUDGET.evidence);
    blocks.push(...packed.sections);
    if (packed.left > 0) truncated = true;
    const cut = v.checks.some((c) => c.summary.length > BUDGET.evidenceLine) || packed.left > 0;
    if (cut)
      blocks.push(
        contextBlock(
          `:scissors: evidence truncated${packed.left > 0 ? ` (${packed.left} more checks not shown)` : ''}; \`gatewatch check ${escapeMrkdwn(v.service)} --json\` prints all of it`,
        ),
      );
    truncated ||= cut;
  }

  const tail: Block[] = [
    contextBlock(
      `${v.incident ? `incident ${escapeMrkdwn(v.incident)} · ` : ''}diagnosed in ${v.duration_ms} ms${truncated ? ' · some text truncated' : ''}`,
    ),
  ];
  if (buttons) {
    const elements = [button(':repeat: Re-run checks', ACTION_IDS.rerun, buttons.incidentId, 'primary')];
    if (buttons.acknowledge)
      elements.push(button(':eyes: Acknowledge', ACTION_IDS.acknowledge, buttons.incidentId));
    elements.push(button(':thumbsdown: Verdict was wrong', ACTION_IDS.wrong, buttons.incidentId, 'danger'));
    tail.push({ type: 'actions', block_id: `gatewatch_verdict_actions`, elements });
  }
  // The tail (incident, buttons) must survive however long the body is.
  return [...blocks.slice(0, LIMITS.blocks - tail.length), ...tail];
}

/**
 * The root message's metadata: it makes the message findable in the channel's
 * history, so a retry after a crash adopts it instead of posting another.
 */
export function rootMetadata(inc: Pick<Incident, 'id' | 'service' | 'source'>): MessageMetadata {
  return {
    event_type: 'gatewatch_incident',
    event_payload: { incident: inc.id, service: inc.service, source: inc.source },
  };
}

/** The summary in metadata is for machines that route on the verdict; the message shows all of it. */
const METADATA_SUMMARY_CHARS = 500;

/**
 * The verdict reply's metadata: the contract's fields and the run (which tells this
 * run's reply from earlier ones in the thread), as the flat scalars Slack's
 * `MessageMetadata` holds. Evidence, actions and checks stay in the message and in
 * `gatewatch check --json`. Slack has no null: a check with no incident leaves it out.
 */
export function verdictMetadata(v: Verdict, run: number): MessageMetadata {
  return {
    event_type: 'gatewatch_verdict',
    event_payload: {
      service: v.service,
      ...(v.incident !== null ? { incident: v.incident } : {}),
      recommendation: v.recommendation,
      cause: v.cause,
      confidence: v.confidence,
      summary: truncate(v.summary, METADATA_SUMMARY_CHARS, '…'),
      duration_ms: v.duration_ms,
      run,
    },
  };
}

/** The ephemeral question "which cause was right?", one option per cause. */
export function feedbackBlocks(incidentId: string, current: string, causes: readonly string[]): Block[] {
  return [
    mrkdwnSection(
      `You said the verdict (\`${escapeMrkdwn(current)}\`) was wrong. Which cause was right? It is kept with incident ${escapeMrkdwn(incidentId)} for the weekly digest.`,
    ),
    {
      type: 'actions',
      block_id: 'gatewatch_feedback',
      elements: [
        {
          type: 'static_select',
          action_id: ACTION_IDS.feedback,
          placeholder: { type: 'plain_text', text: 'The right cause' },
          options: causes
            .filter((c) => c !== current)
            .map((c) => ({
              text: { type: 'plain_text', text: truncate(c, 75, '…') },
              description: {
                type: 'plain_text',
                text: truncate(CAUSE_TEXT[c as keyof typeof CAUSE_TEXT] ?? c, 75, '…'),
              },
              value: `${c}:${incidentId}`,
            })),
        },
      ],
    },
  ];
}
