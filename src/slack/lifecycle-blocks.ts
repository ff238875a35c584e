import type { Incident, Member, MemberList, RelatedIncident } from '../store/incident.js';
import type { Verdict } from '../verdict/types.js';
import {
  type Block,
  type CheckProgress,
  escapeUntrusted,
  rootMessage,
  truncate,
  verdictFallbackText,
} from './format.js';

/** The root message's Resolve button: ends the incident by hand. */
export const RESOLVE_ACTION_ID = 'gatewatch_resolve';
/** Metadata event of the reply telling joined incidents the verdict. */
export const JOINED_EVENT = 'gatewatch_joined';

/** Members named; a storm of alerts is summed up after these. */
const NAMED_MEMBERS = 50;
/** Up to this many members, each is named with its title. */
const TITLED_MEMBERS = 5;

const SOURCE_NAME: Record<string, string> = {
  pagerduty: 'PagerDuty incident',
  alertmanager: 'Alertmanager alert',
  grafana: 'Grafana alert',
  generic: 'alert',
};

/** A link only for a plain http(s) URL: anything that could close the link's markup is left unlinked. */
const LINKABLE = /^https?:\/\/[^\s|<>]+$/;

function memberText(m: Member, titled: boolean): string {
  const name = escapeUntrusted(`${SOURCE_NAME[m.source] ?? m.source} ${m.key}`);
  const shown = m.url && LINKABLE.test(m.url) ? `<${m.url}|${name}>` : name;
  return titled ? `${shown} (${escapeUntrusted(truncate(m.title, 120, '…'))})` : shown;
}

/** "PagerDuty incident PA (title), PagerDuty incident PB (title)"; many are named without titles, a storm summed up. */
export function membersText(members: readonly Member[], total = members.length): string {
  const titled = members.length <= TITLED_MEMBERS;
  const named = members
    .slice(0, NAMED_MEMBERS)
    .map((m) => memberText(m, titled))
    .join(', ');
  const rest = total - Math.min(members.length, NAMED_MEMBERS);
  return rest > 0 ? `${named} and ${rest} more` : named;
}

/** A verdict names what it covers when more than the incident's opener joined it. */
export function coversLine(inc: Incident, covered: MemberList): string | null {
  const others = covered.shown.filter((m) => !(m.source === inc.source && m.key === inc.externalId));
  if (others.length === 0) return null;
  return `This verdict covers ${covered.total} incidents: ${membersText(covered.shown, covered.total)}`;
}

/** Other services named at most in the blast-radius line. */
const RELATED_NAMED = 8;
/** Causes that say nothing about a shared fault. */
const NO_SHARED_CAUSE = new Set(['unknown', 'recovered']);

/**
 * Other services' incidents that began near this one, with their causes; when every one of them has
 * this verdict's cause, the outage is likely one, shared (a database, a network, a deploy).
 */
export function relatedLine(
  verdict: Verdict,
  related: readonly RelatedIncident[],
  /** `plain` for places without Slack's markup (a PagerDuty note). */
  style: 'mrkdwn' | 'plain' = 'mrkdwn',
): string | null {
  if (related.length === 0) return null;
  const name = (service: string) => (style === 'plain' ? service : `*${escapeUntrusted(service)}*`);
  const named = related
    .slice(0, RELATED_NAMED)
    .map((r) => `${name(r.service)} (${r.cause ?? 'diagnosing'})`)
    .join(', ');
  const rest = related.length > RELATED_NAMED ? ` and ${related.length - RELATED_NAMED} more` : '';
  const services = related.length + 1;
  const shared =
    !NO_SHARED_CAUSE.has(verdict.cause) && related.every((r) => r.cause === verdict.cause)
      ? `all ${verdict.cause}, like this one: likely one fault shared by ${services} services — fix it once.`
      : `${services} services at once: look for what they share (a database, the network, a deploy) before fixing each.`;
  return `Also with 502s, begun within 15 min: ${named}${rest}. ${shared}`;
}

function context(text: string): Block {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, 2900) }] };
}

/** The root message with the incident's lifecycle: a Resolve button while open, how it ended once ended. */
export function lifecycleRoot(inc: Incident, progress?: CheckProgress): { text: string; blocks: Block[] } {
  const msg = rootMessage(inc, progress);
  if (inc.state === 'resolved') {
    const why = inc.endNote ?? (inc.endReason ? `ended: ${inc.endReason}` : null);
    if (!why) return msg;
    return {
      text: `${msg.text} · ${why}`,
      // gatewatch writes the note (a person's mention included), so it is not escaped.
      blocks: [...msg.blocks, context(`:checkered_flag: ${why}`)],
    };
  }
  if (inc.requestedBy) return msg;
  const resolve: Block = {
    type: 'actions',
    elements: [
      {
        type: 'button',
        text: { type: 'plain_text', text: 'Resolve', emoji: true },
        action_id: RESOLVE_ACTION_ID,
        value: inc.id,
        confirm: {
          title: { type: 'plain_text', text: 'Resolve this incident?' },
          text: {
            type: 'mrkdwn',
            text: 'gatewatch stops adding alerts to it; the next alert opens a new incident.',
          },
          confirm: { type: 'plain_text', text: 'Resolve' },
          deny: { type: 'plain_text', text: 'Cancel' },
        },
      },
    ],
  };
  return { text: msg.text, blocks: [...msg.blocks, resolve] };
}

/** The reply telling members that joined after the verdict what it is. */
export function joinedMessage(inc: Incident, verdict: Verdict, members: readonly Member[]) {
  const head = `${membersText(members)} joined this incident. The current verdict (run ${inc.run}) covers ${members.length === 1 ? 'it' : 'them'}:`;
  return {
    text: truncate(`${head}\n${verdictFallbackText(verdict)}`, 3900),
    blocks: [
      context(head),
      { type: 'section', text: { type: 'mrkdwn', text: truncate(verdictFallbackText(verdict), 2900) } },
    ],
    metadata: {
      event_type: JOINED_EVENT,
      event_payload: { incident: inc.id, run: inc.run, members: members.map((m) => `${m.source}:${m.key}`) },
    },
  };
}
