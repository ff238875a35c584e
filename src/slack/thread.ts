import type { WebClient } from '@slack/web-api';
import type { Incident } from '../ingest/incident.js';
import type { IncidentStore } from '../ingest/store.js';
import type { Logger } from '../log.js';
import type { Verdict } from '../verdict/types.js';
import { rootMessage, verdictBlocks, verdictMetadata, verdictText } from './format.js';

export interface SlackThreadDeps {
  client: WebClient;
  store: IncidentStore;
  defaultChannel: string;
  log: Logger;
}

/**
 * An incident's Slack thread: one root message, edited as the incident moves,
 * and the verdict as a reply. Message ts values are stored with the incident,
 * so a retried or recovered job never posts twice.
 */
export class SlackThread {
  constructor(private readonly deps: SlackThreadDeps) {}

  async ensureRoot(inc: Incident, channel?: string): Promise<{ channel: string; ts: string }> {
    if (inc.channel && inc.rootTs) return { channel: inc.channel, ts: inc.rootTs };
    const target = inc.channel ?? channel ?? this.deps.defaultChannel;
    const msg = rootMessage(inc);
    const res = await this.deps.client.chat.postMessage({
      channel: target,
      text: msg.text,
      blocks: msg.blocks,
    });
    const posted = { channel: String(res.channel ?? target), ts: String(res.ts) };
    await this.deps.store.update(inc.id, { channel: posted.channel, rootTs: posted.ts });
    inc.channel = posted.channel;
    inc.rootTs = posted.ts;
    this.deps.log.info({ incident: inc.id, channel: posted.channel, ts: posted.ts }, 'root message posted');
    return posted;
  }

  async updateRoot(inc: Incident): Promise<void> {
    if (!inc.channel || !inc.rootTs) return;
    const msg = rootMessage(inc);
    await this.deps.client.chat.update({
      channel: inc.channel,
      ts: inc.rootTs,
      text: msg.text,
      blocks: msg.blocks,
    });
  }

  async postVerdict(inc: Incident, verdict: Verdict): Promise<string> {
    const done = inc.verdictTs?.startsWith(`${inc.run}:`);
    if (done) return inc.verdictTs!.slice(String(inc.run).length + 1);
    const root = await this.ensureRoot(inc);
    const res = await this.deps.client.chat.postMessage({
      channel: root.channel,
      thread_ts: root.ts,
      text: verdictText(verdict),
      blocks: verdictBlocks(verdict),
      metadata: verdictMetadata(verdict) as never,
    });
    const ts = String(res.ts);
    await this.deps.store.update(inc.id, { verdictTs: `${inc.run}:${ts}` });
    this.deps.log.info({ incident: inc.id, ts, cause: verdict.cause }, 'verdict posted');
    return ts;
  }
}
