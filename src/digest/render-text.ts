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

/** The digest as plain text: what `gatewatch digest --print` writes, readable in a terminal or an email. */
export function renderDigestText(d: Digest): string {
  const lines = [title(d), ''];
  const o = d.overall;
  if (o.incidents === 0) lines.push(emptyLine(d));
  else {
    lines.push(`Overall: ${incidentsLine(o, o.change)}`);
    lines.push(`Verdicts: ${verdictMixLine(o.verdictMix)}`);
    lines.push(`Top causes: ${causesLine(o.causes)}`);
    lines.push(`Feedback: ${feedbackLine(o)}`);
  }
  if (d.recommendations.length > 0) {
    lines.push('', 'Recommendations:');
    for (const r of d.recommendations) lines.push(`- ${r}`);
  }
  if (d.repeatOffenders.length > 0)
    lines.push(
      '',
      `Repeat offenders: ${d.repeatOffenders.map((r) => `${r.service} (${plural(r.incidents, 'incident')})`).join(', ')}`,
    );
  if (d.openIncidents.length > 0) {
    lines.push('', 'Still open:');
    for (const i of d.openIncidents)
      lines.push(
        `- ${i.service} ${i.id} since ${localTime(i.onsetAt, d.tz)} (${i.cause ?? 'no verdict yet'})`,
      );
  }
  if (d.services.length > 0) {
    lines.push('', 'By service:');
    for (const s of d.services) {
      lines.push(`- ${s.service}: ${capacityQuestionLine(s.lastWeeks)}`);
      lines.push(`    this week: ${incidentsLine(s, s.change)}`);
      if (s.incidents > 0)
        lines.push(
          `    verdicts ${verdictMixLine(s.verdictMix)}; causes ${causesLine(s.causes)}; feedback ${feedbackLine(s)}`,
        );
    }
  }
  lines.push('', `${FOOTNOTE} Generated ${d.generatedAt}.`);
  return `${lines.join('\n')}\n`;
}
