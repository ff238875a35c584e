import { errorMessage, isGatewatchError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PagerDutyClient } from '../pagerduty/client.js';
import { Coalescer } from '../slack/coalesce.js';
import { verdictText } from '../slack/format.js';
import { relatedLine } from '../slack/lifecycle-blocks.js';
import type { SlackThread } from '../slack/thread.js';
import type { Incident, Member, MemberList, RelatedIncident } from '../store/incident.js';
import type { IncidentStore } from '../store/store.js';
import type { Verdict } from '../verdict/types.js';

export interface NotifierDeps {
  store: IncidentStore;
  /** Null without SLACK_BOT_TOKEN: verdicts are then only logged (and noted in PagerDuty). */
  slack: SlackThread | null;
  /** When set, each verdict is added as a note to every PagerDuty incident it covers. */
  pagerduty: PagerDutyClient | null;
  log: Logger;
  /** Live edits of the root message are at most this often (Slack: ~1 message/s per channel). */
  rootEditIntervalMs?: number;
}

/**
 * Edits of a root message after its verdict (the verdict's own, then the storm's count and state) are
 * at least this far apart, whichever worker makes them: Slack's pace for one message, and the 2 s
 * windows of ingest's count edits, which a busy worker can start late and the next on time. The
 * extra 100 ms covers the time between taking the turn and Slack receiving the edit.
 */
export const ROOT_EDIT_GAP_MS = 2100;

/** PagerDuty incident ids among the members. */
function pagerDutyIds(members: readonly Member[]): string[] {
  return members.filter((m) => m.source === 'pagerduty').map((m) => m.key);
}

/**
 * Tells incidents in Slack (the thread) and PagerDuty (a note on each covered
 * incident, once per run: a claim in Redis marks it, released when the call
 * fails so the job's retry tries again; a refusal retrying cannot cure is logged).
 */
export function createNotifier(deps: NotifierDeps) {
  const { store, slack, pagerduty } = deps;

  async function note(inc: Incident, externalId: string, content: string, log: Logger) {
    if (!pagerduty || !(await store.claimNote(externalId, inc.id, inc.run))) return;
    try {
      await pagerduty.addNote(externalId, content);
      log.info({ pagerduty: externalId }, 'verdict added to the PagerDuty incident as a note');
    } catch (err) {
      await store.releaseNote(externalId, inc.id, inc.run);
      if (isGatewatchError(err) && !err.retryable) {
        log.error({ pagerduty: externalId, err: errorMessage(err) }, 'PagerDuty refused the verdict note');
        return;
      }
      throw err;
    }
  }

  /** Waits for the incident's turn to edit its root message (see ROOT_EDIT_GAP_MS). */
  async function rootEditTurn(id: string) {
    for (;;) {
      const wait = await store.claimRootEdit(id, ROOT_EDIT_GAP_MS);
      if (wait <= 0) return;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  async function noteAll(inc: Incident, externalIds: readonly string[], content: string) {
    const log = deps.log.child({ incident: inc.id, run: inc.run });
    for (const id of new Set(externalIds)) await note(inc, id, content, log);
  }

  return {
    async opened(inc: Incident, channel: string | undefined) {
      if (!slack) return { update() {}, flush: async () => {} };
      await slack.ensureRoot(inc, channel);
      let latest: Parameters<SlackThread['updateRoot']>[1];
      const edits = new Coalescer(
        () => slack.updateRoot(inc, latest),
        deps.rootEditIntervalMs ?? 1000,
        (err) =>
          deps.log.warn({ incident: inc.id, err: errorMessage(err) }, 'live edit of the root message failed'),
      );
      return {
        update(progress: NonNullable<typeof latest>) {
          latest = progress;
          edits.poke();
        },
        flush: () => edits.flush(),
      };
    },

    async verdict(
      inc: Incident,
      verdict: Verdict,
      covered: MemberList,
      related: readonly RelatedIncident[] = [],
    ) {
      if (slack) {
        await slack.postVerdict(inc, verdict, covered, related);
        // The final edit, after every live one has landed: the root shows the verdict (or how a check ended).
        await rootEditTurn(inc.id);
        await slack.updateRoot(inc);
      }
      // The opener of a record from before members existed is noted too.
      const opener = inc.source === 'pagerduty' ? [inc.externalId] : [];
      const blast = relatedLine(verdict, related, 'plain');
      await noteAll(
        inc,
        [...opener, ...pagerDutyIds(covered.shown)],
        `gatewatch verdict (run ${inc.run})\n${verdictText(verdict)}${blast ? `\n${blast}` : ''}`,
      );
    },

    async joined(inc: Incident, verdict: Verdict, members: readonly Member[]) {
      if (slack) await slack.postJoined(inc, verdict, members);
      await noteAll(
        inc,
        pagerDutyIds(members),
        `gatewatch verdict (run ${inc.run} of gatewatch incident ${inc.id}, which this incident joined)\n${verdictText(verdict)}`,
      );
    },

    async sync(inc: Incident) {
      if (!slack) return;
      await rootEditTurn(inc.id);
      // Read after the wait, so the edit shows every alert up to now.
      await slack.updateRoot((await store.get(inc.id)) ?? inc);
    },
  };
}
