import type { WebClient } from '@slack/web-api';
import type { Incident } from '../ingest/incident.js';
import type { IncidentStore } from '../ingest/store.js';
import type { Logger } from '../log.js';
import type { Verdict } from '../verdict/types.js';
import { callSlack } from './client.js';
import { type CheckProgress, rootMessage, verdictBlocks, verdictMetadata, verdictText } from './format.js';

export interface SlackThreadDeps {
  client: WebClient;
  store: IncidentStore;
  defaultChannel: string;
  log: Logger;
}

/**
 * An incident's Slack thread: one root message, edited as the incident moves,
 * and the verdict as a reply. Message ts values are stored with the incident
 * the moment Slack returns them, so a retried or recovered job never posts twice.
 */
export class SlackThread {
  constructor(private readonly deps: SlackThreadDeps) {}

  async ensureRoot(inc: Incident, channel?: string): Promise<{ channel: string; ts: string }> {
    if (inc.channel && inc.rootTs) return { channel: inc.channel, ts: inc.rootTs };
    // Another attempt of this job may have posted since `inc` was read.
    const stored = await this.deps.store.get(inc.id);
    if (stored?.channel && stored.rootTs) {
      inc.channel = stored.channel;
      inc.rootTs = stored.rootTs;
      return { channel: stored.channel, ts: stored.rootTs };
    }
    const target = inc.channel ?? channel ?? this.deps.defaultChannel;
    const msg = rootMessage(inc);
    const res = await callSlack('chat.postMessage', () =>
      this.deps.client.chat.postMessage({ channel: target, text: msg.text, blocks: msg.blocks }),
    );
    const posted = { channel: String(res.channel ?? target), ts: String(res.ts) };
    await this.deps.store.update(inc.id, { channel: posted.channel, rootTs: posted.ts });
    inc.channel = posted.channel;
    inc.rootTs = posted.ts;
    this.deps.log.info({ incident: inc.id, channel: posted.channel, ts: posted.ts }, 'root message posted');
    return posted;
  }

  /** Edits the root message to show the incident as it is now, with live check progress while diagnosing. */
  async updateRoot(inc: Incident, progress?: CheckProgress): Promise<void> {
    if (!inc.channel || !inc.rootTs) return;
    const msg = rootMessage(inc, progress);
    await callSlack('chat.update', () =>
      this.deps.client.chat.update({
        channel: inc.channel!,
        ts: inc.rootTs!,
        text: msg.text,
        blocks: msg.blocks,
      }),
    );
  }

  async postVerdict(inc: Incident, verdict: Verdict): Promise<string> {
    const posted = await this.verdictTsOf(inc);
    if (posted) return posted;
    const root = await this.ensureRoot(inc);
    const res = await callSlack('chat.postMessage', () =>
      this.deps.client.chat.postMessage({
        channel: root.channel,
        thread_ts: root.ts,
        text: verdictText(verdict),
        blocks: verdictBlocks(verdict, { incidentId: inc.id, acknowledge: inc.source === 'pagerduty' }),
        metadata: verdictMetadata(verdict) as never,
      }),
    );
    const ts = String(res.ts);
    await this.deps.store.update(inc.id, { verdictTs: `${inc.run}:${ts}` });
    inc.verdictTs = `${inc.run}:${ts}`;
    this.deps.log.info({ incident: inc.id, ts, cause: verdict.cause }, 'verdict posted');
    return ts;
  }

  /** The ts of this run's verdict reply if one is posted, looking at the stored incident too. */
  private async verdictTsOf(inc: Incident): Promise<string | null> {
    const prefix = `${inc.run}:`;
    for (const v of [inc.verdictTs, (await this.deps.store.get(inc.id))?.verdictTs])
      if (v?.startsWith(prefix)) return v.slice(prefix.length);
    return null;
  }
}
