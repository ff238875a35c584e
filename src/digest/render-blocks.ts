import type { KnownBlock } from '@slack/web-api';
import {
  capacityQuestionLine,
  causesLine,
  emptyLine,
  FOOTNOTE,
  feedbackLine,
  incidentsLine,
  localTime,
  plural,
  title,
  verdictMixLine,
} from './format.js';
import type { Digest } from './types.js';

/** Slack allows 50 blocks a message; the fixed part takes at most 10, services get the rest but one. */
const MAX_SERVICE_BLOCKS = 38;
/** A section's text may hold 3000 characters; leave room for the "… more" line. */
const SECTION_LIMIT = 2900;
const HEADER_LIMIT = 150;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

/** Lines under a heading, cut to fit one section with a count of what was left out. */
function listSection(heading: string, lines: string[]): KnownBlock {
  let text = `*${heading}*`;
  let shown = 0;
  for (const line of lines) {
    if (text.length + line.length + 1 > SECTION_LIMIT) break;
    text += `\n${line}`;
    shown += 1;
  }
  if (shown < lines.length) text += `\n…and ${lines.length - shown} more`;
  return section(text);
}

/** The one-line notification text that goes with the blocks. */
export function digestFallbackText(d: Digest): string {
  return d.overall.incidents === 0
    ? `${title(d)}: ${emptyLine(d)}`
    : `${title(d)}: ${incidentsLine(d.overall, d.overall.change)}`;
}

/** The digest as Block Kit: at most 50 blocks however many services there are. */
export function renderDigestBlocks(d: Digest): KnownBlock[] {
  const o = d.overall;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: title(d).slice(0, HEADER_LIMIT) } },
  ];
  if (o.incidents === 0) blocks.push(section(emptyLine(d)));
  else
    blocks.push(
      section(`*Overall:* ${incidentsLine(o, o.change)}`),
      section(
        [
          `*Verdicts:* ${verdictMixLine(o.verdictMix)}`,
          `*Top causes:* ${causesLine(o.causes)}`,
          `*Feedback:* ${feedbackLine(o)}`,
        ].join('\n'),
      ),
    );
  if (d.recommendations.length > 0)
    blocks.push(
      listSection(
        'Recommendations',
        d.recommendations.map((r) => `• ${esc(r)}`),
      ),
    );
  if (d.repeatOffenders.length > 0)
    blocks.push(
      section(
        `*Repeat offenders:* ${d.repeatOffenders.map((r) => `${esc(r.service)} (${plural(r.incidents, 'incident')})`).join(', ')}`,
      ),
    );
  if (d.openIncidents.length > 0)
    blocks.push(
      listSection(
        'Still open',
        d.openIncidents.map(
          (i) =>
            `• ${esc(i.service)} ${esc(i.id)} since ${localTime(i.onsetAt, d.tz)} (${i.cause ?? 'no verdict yet'})`,
        ),
      ),
    );
  if (d.services.length > 0) {
    blocks.push({ type: 'divider' });
    for (const s of d.services.slice(0, MAX_SERVICE_BLOCKS)) {
      const detail =
        s.incidents > 0
          ? `\n${verdictMixLine(s.verdictMix)} · causes ${causesLine(s.causes)} · feedback ${feedbackLine(s)}`
          : '';
      blocks.push(
        section(
          `*${esc(s.service)}:* ${esc(capacityQuestionLine(s.lastWeeks))}\nthis week: ${incidentsLine(s, s.change)}${detail}`,
        ),
      );
    }
    const rest = d.services.length - MAX_SERVICE_BLOCKS;
    if (rest > 0)
      blocks.push(
        section(
          `…and ${plural(rest, 'more service')}; \`gatewatch digest --week ${d.week} --print\` lists all.`,
        ),
      );
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: FOOTNOTE }] });
  return blocks;
}
