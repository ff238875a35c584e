import { setTimeout as sleep } from 'node:timers/promises';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../log.js';
import type { Incident, Member, MemberList, RelatedIncident } from '../store/incident.js';
import type { IncidentStore } from '../store/store.js';
import type { Verdict } from '../verdict/types.js';
import { callSlack, createSlackClient } from './client.js';
import {
  type Block,
  type CheckProgress,
  rootMetadata,
  verdictBlocks,
  verdictFallbackText,
  verdictMetadata,
} from './format.js';
import { coversLine, joinedMessage, lifecycleRoot, relatedLine } from './lifecycle-blocks.js';
import {
  findRootTs,
  findVerdictTs,
  lookup,
  POST_CLIENT_OPTIONS,
  type Posted,
  type PostingIntents,
  postOnce,
} from './outbox.js';

export interface SlackThreadDeps {
  client: WebClient;
  /**
   * The client posts go through: one that never retries by itself
   * (`POST_CLIENT_OPTIONS`), because a blind retry of a post whose answer was
   * lost posts it twice. Made from `client`'s token and URL when not given.
   */
  postClient?: WebClient;
  store: IncidentStore;
  /** How long one attempt may hold a post to itself before another takes over (a crashed worker's). */
  leaseMs?: number;
  /** Announcements of posts, so a post whose answer was lost is looked up before posting again. */
  intents: PostingIntents;
  defaultChannel: string;
  log: Logger;
}

/**
 * An incident's Slack thread: one root message, edited as the incident moves,
 * and the verdict as a reply. Message ts values are stored with the incident
 * the moment Slack returns them, so a retried or recovered job never posts twice;
 * a post is announced before it is sent, so an attempt that died between Slack
 * taking a message and its ts reaching Redis is found in Slack and adopted.
 */
const DEFAULT_LEASE_MS = 30_000;
const LEASE_POLL_MS = 50;

export class SlackThread {
  private readonly intents: PostingIntents;
  private readonly postClient: WebClient;

  constructor(private readonly deps: SlackThreadDeps) {
    this.intents = deps.intents;
    this.postClient =
      deps.postClient ??
      createSlackClient(
        { SLACK_BOT_TOKEN: deps.client.token, SLACK_API_URL: deps.client.slackApiUrl },
        POST_CLIENT_OPTIONS,
        deps.log,
      );
  }

  /**
   * Runs `post` as the only attempt posting `what` of the incident: another one running at the
   * same moment waits until `stored` shows its ts (or its lease ends) and takes that instead.
   */
  private async alone<T>(
    incidentId: string,
    what: string,
    stored: () => Promise<T | null>,
    post: () => Promise<T>,
  ): Promise<T> {
    for (;;) {
      const done = await stored();
      if (done) return done;
      const token = await this.intents.lease(incidentId, what, this.deps.leaseMs ?? DEFAULT_LEASE_MS);
      if (token) {
        try {
          return (await stored()) ?? (await post());
        } finally {
          await this.intents.release(incidentId, what, token);
        }
      }
      await sleep(LEASE_POLL_MS);
    }
  }

  async ensureRoot(inc: Incident, channel?: string): Promise<Posted> {
    if (inc.channel && inc.rootTs) return { channel: inc.channel, ts: inc.rootTs };
    // Another attempt of this job may have posted since `inc` was read, or be posting right now.
    const stored = async (): Promise<Posted | null> => {
      const s = await this.deps.store.get(inc.id);
      return s?.channel && s.rootTs ? { channel: s.channel, ts: s.rootTs } : null;
    };
    const root = await this.alone(inc.id, 'root', stored, () => this.postRoot(inc, channel));
    inc.channel = root.channel;
    inc.rootTs = root.ts;
    return root;
  }

  private async postRoot(inc: Incident, channel?: string): Promise<Posted> {
    const target = inc.channel ?? channel ?? this.deps.defaultChannel;
    const log = this.deps.log.child({ incident: inc.id, post: 'root' });
    const claim = await this.intents.claim(inc.id, 'root');
    const find = () => this.findRoot(inc.id, target, claim.since, log);
    const earlier = claim.first ? null : await lookup('conversations.history', find, log);
    const msg = lifecycleRoot(inc);
    const posted = earlier
      ? { ...earlier, adopted: true }
      : await postOnce({
          client: this.postClient,
          args: { channel: target, text: msg.text, blocks: msg.blocks, metadata: rootMetadata(inc) },
          find,
          log,
        });
    await this.deps.store.recordRoot(inc.id, posted.channel, posted.ts);
    await this.intents.rememberChannel(target, posted.channel);
    inc.channel = posted.channel;
    inc.rootTs = posted.ts;
    log.info(
      { channel: posted.channel, ts: posted.ts },
      posted.adopted ? 'root message found in Slack and adopted' : 'root message posted',
    );
    return { channel: posted.channel, ts: posted.ts };
  }

  /** An earlier attempt's root message, if Slack has one; a `#name` needs the id learnt from an earlier post. */
  private async findRoot(
    incidentId: string,
    target: string,
    since: number,
    log: Logger,
  ): Promise<Posted | null> {
    const channel = await this.intents.channelId(target);
    if (!channel) {
      log.warn({ channel: target }, 'channel id not known yet: cannot look for an earlier root message');
      return null;
    }
    const ts = await findRootTs(this.deps.client, channel, incidentId, since);
    return ts ? { channel, ts } : null;
  }

  /** Edits the root message to show the incident as it is now, with live check progress while diagnosing. */
  async updateRoot(inc: Incident, progress?: CheckProgress): Promise<void> {
    if (!inc.channel || !inc.rootTs) return;
    const msg = lifecycleRoot(inc, progress);
    await callSlack('chat.update', () =>
      this.deps.client.chat.update({
        channel: inc.channel!,
        ts: inc.rootTs!,
        text: msg.text,
        blocks: msg.blocks,
      }),
    );
  }

  /** The run's verdict as a reply in the thread, naming every member it covers when others joined. */
  async postVerdict(
    inc: Incident,
    verdict: Verdict,
    covered: MemberList = { shown: [], total: 0 },
    related: readonly RelatedIncident[] = [],
  ): Promise<string> {
    const root = await this.ensureRoot(inc);
    return this.alone(
      inc.id,
      `verdict:${inc.run}`,
      () => this.verdictTsOf(inc),
      () => this.postVerdictOnce(inc, verdict, covered, related, root),
    );
  }

  private async postVerdictOnce(
    inc: Incident,
    verdict: Verdict,
    covered: MemberList,
    related: readonly RelatedIncident[],
    root: Posted,
  ): Promise<string> {
    const log = this.deps.log.child({ incident: inc.id, run: inc.run, post: 'verdict' });
    const claim = await this.intents.claim(inc.id, `verdict:${inc.run}`);
    const find = async (): Promise<Posted | null> => {
      const ts = await findVerdictTs(this.deps.client, root.channel, root.ts, inc.run);
      return ts ? { channel: root.channel, ts } : null;
    };
    const earlier = claim.first ? null : await lookup('conversations.replies', find, log);
    const notes = [coversLine(inc, covered), relatedLine(verdict, related)].filter(
      (line): line is string => line !== null,
    );
    const blocks = verdictBlocks(verdict, { incidentId: inc.id, acknowledge: inc.source === 'pagerduty' });
    const posted = earlier
      ? { ...earlier, adopted: true }
      : await postOnce({
          client: this.postClient,
          args: {
            channel: root.channel,
            thread_ts: root.ts,
            text: [verdictFallbackText(verdict), ...notes].join('\n'),
            blocks: [
              ...blocks,
              ...notes.map(
                (line): Block => ({
                  type: 'context',
                  elements: [{ type: 'mrkdwn', text: line.slice(0, 2900) }],
                }),
              ),
            ],
            // The run tells this run's verdict from earlier ones in the thread when looking it up.
            metadata: verdictMetadata(verdict, inc.run),
          },
          find,
          log,
        });
    await this.deps.store.recordVerdictTs(inc.id, inc.run, posted.ts);
    inc.verdictTs = `${inc.run}:${posted.ts}`;
    log.info(
      { ts: posted.ts, cause: verdict.cause },
      posted.adopted ? 'verdict found in Slack and adopted' : 'verdict posted',
    );
    return posted.ts;
  }

  /** One reply naming the members that joined after the verdict, with the verdict they share. */
  async postJoined(inc: Incident, verdict: Verdict, members: readonly Member[]): Promise<string> {
    const root = await this.ensureRoot(inc);
    const msg = joinedMessage(inc, verdict, members);
    const posted = await postOnce({
      client: this.postClient,
      args: { channel: root.channel, thread_ts: root.ts, ...msg, metadata: msg.metadata as never },
      // A lost answer is retried rather than looked up: at worst the joiners are named twice.
      find: async () => null,
      log: this.deps.log.child({ incident: inc.id, post: 'joined' }),
    });
    return posted.ts;
  }

  /** The ts of this run's verdict reply if one is posted, looking at the stored incident too. */
  private async verdictTsOf(inc: Incident): Promise<string | null> {
    const prefix = `${inc.run}:`;
    for (const v of [inc.verdictTs, (await this.deps.store.get(inc.id))?.verdictTs])
      if (v?.startsWith(prefix)) return v.slice(prefix.length);
    return null;
  }
}
