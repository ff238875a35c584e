import type { App, BlockAction, ButtonAction, StaticSelectAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { PagerDutyClient } from '../pagerduty/client.js';
import type { PlaybookSet } from '../playbooks/load.js';
import type { Incident } from '../store/incident.js';
import type { IncidentStore } from '../store/store.js';
import { mayRunChecks, type Requester } from './allowlist.js';
import { ALL_CAUSES, isCause } from './causes.js';
import { callSlack } from './client.js';
import { queueRerun, resolveByHand, type SlackJobs } from './commands.js';
import { ACTION_IDS, feedbackBlocks } from './format.js';
import { RESOLVE_ACTION_ID } from './lifecycle-blocks.js';

export interface InteractionDeps {
  store: IncidentStore;
  jobs: SlackJobs;
  playbooks: PlaybookSet;
  /** Null when PAGERDUTY_API_TOKEN is not set: "Acknowledge" then says so. */
  pagerduty: PagerDutyClient | null;
  log: Logger;
}

/** Runs a button's action on the incident it names, if the one who pressed it may run its service's checks. */
async function asPermitted(
  incidentId: string,
  who: Requester,
  deps: InteractionDeps,
  client: Pick<WebClient, 'usergroups'> | undefined,
  action: (inc: Incident) => Promise<string>,
): Promise<string> {
  const inc = await deps.store.get(incidentId);
  if (!inc) return `Incident ${incidentId} is no longer known to gatewatch.`;
  const playbook = deps.playbooks.get(inc.service);
  if (!playbook) return `There is no playbook for ${inc.service} any more.`;
  const permission = await mayRunChecks(playbook, who, client);
  return permission.allowed ? action(inc) : permission.why;
}

/** "Re-run checks": a new diagnosis run whose verdict lands in the same thread. */
export async function rerunChecks(
  incidentId: string,
  who: Requester,
  deps: InteractionDeps,
  client?: Pick<WebClient, 'usergroups'>,
): Promise<string> {
  return asPermitted(incidentId, who, deps, client, async (inc) => {
    const run = await queueRerun(deps, inc.id);
    return `Re-running the checks of *${inc.service}* (run ${run}); the verdict follows in this thread.`;
  });
}

/** "Acknowledge": acknowledges the PagerDuty incident, then the root message shows it. */
export async function acknowledgeIncident(
  incidentId: string,
  userId: string,
  deps: InteractionDeps,
): Promise<string> {
  const inc = await deps.store.get(incidentId);
  if (!inc) return `Incident ${incidentId} is no longer known to gatewatch.`;
  if (inc.source !== 'pagerduty')
    return 'This incident did not come from PagerDuty; there is nothing to acknowledge.';
  if (!deps.pagerduty) return 'gatewatch cannot acknowledge in PagerDuty: PAGERDUTY_API_TOKEN is not set.';
  if (inc.state === 'resolved') return `PagerDuty incident ${inc.externalId} is already resolved.`;
  await deps.pagerduty.acknowledge(inc.externalId);
  // Atomic: a resolve that landed while PagerDuty answered stands.
  await deps.store.acknowledge(inc.id);
  await deps.jobs.syncRoot(inc.id);
  deps.log.info({ incident: inc.id, pagerduty: inc.externalId, user: userId }, 'acknowledged from Slack');
  return `<@${userId}> acknowledged PagerDuty incident ${inc.externalId}.`;
}

/** Stores which cause was right, for the digest's accuracy figure. `value` is "cause:incidentId". */
export async function recordFeedback(value: string, userId: string, deps: InteractionDeps): Promise<string> {
  const sep = value.indexOf(':');
  const cause = value.slice(0, sep);
  const incidentId = value.slice(sep + 1);
  if (sep < 0 || !isCause(cause)) return 'That is not a cause gatewatch knows.';
  const inc = await deps.store.get(incidentId);
  if (!inc) return `Incident ${incidentId} is no longer known to gatewatch.`;
  await deps.store.recordFeedback(inc.id, cause);
  deps.log.info(
    { incident: inc.id, was: inc.verdict?.cause, right: cause, user: userId },
    'verdict feedback',
  );
  return `Thanks — recorded that the cause of ${inc.id} was \`${cause}\`, not \`${inc.verdict?.cause ?? 'unknown'}\`.`;
}

/** "Resolve" on the root message: ends the incident by hand, for those who may run its checks. */
export async function resolveFromButton(
  incidentId: string,
  who: Requester,
  deps: InteractionDeps,
  client?: Pick<WebClient, 'usergroups'>,
): Promise<string> {
  return asPermitted(incidentId, who, deps, client, async (inc) =>
    (await resolveByHand(deps, inc.id, who.userId)) === 'resolved'
      ? `<@${who.userId}> resolved ${inc.id}; the next alert of *${inc.service}* opens a new incident.`
      : `${inc.id} had already ended.`,
  );
}

function requester(body: BlockAction): Requester {
  return {
    channelId: body.channel?.id ?? body.container?.channel_id ?? '',
    channelName: body.channel?.name,
    userId: body.user.id,
  };
}

/** The verdict's buttons and the "which cause was right?" select, in Bolt. Each acks first, then works. */
export function registerInteractions(app: App, deps: InteractionDeps): void {
  const failed = (what: string, err: unknown) => {
    deps.log.error({ err: errorMessage(err), action: what }, 'Slack interaction failed');
    return `gatewatch could not ${what} right now: ${errorMessage(err)}`;
  };

  app.action<BlockAction<ButtonAction>>(ACTION_IDS.rerun, async ({ ack, body, action, respond, client }) => {
    await ack();
    const text = await rerunChecks(action.value ?? '', requester(body), deps, client).catch((err) =>
      failed('re-run the checks', err),
    );
    await respond({ response_type: 'ephemeral', replace_original: false, text });
  });

  app.action<BlockAction<ButtonAction>>(RESOLVE_ACTION_ID, async ({ ack, body, action, respond, client }) => {
    await ack();
    const text = await resolveFromButton(action.value ?? '', requester(body), deps, client).catch((err) =>
      failed('resolve the incident', err),
    );
    await respond({ response_type: 'ephemeral', replace_original: false, text });
  });

  app.action<BlockAction<ButtonAction>>(ACTION_IDS.acknowledge, async ({ ack, body, action, respond }) => {
    await ack();
    const text = await acknowledgeIncident(action.value ?? '', body.user.id, deps).catch((err) =>
      failed('acknowledge the incident', err),
    );
    await respond({ response_type: 'ephemeral', replace_original: false, text });
  });

  app.action<BlockAction<ButtonAction>>(ACTION_IDS.wrong, async ({ ack, body, action, client, respond }) => {
    await ack();
    const inc = await deps.store.get(action.value ?? '');
    if (!inc) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: 'That incident is gone.' });
      return;
    }
    const current = inc.verdict?.cause ?? 'unknown';
    const who = requester(body);
    await callSlack('chat.postEphemeral', () =>
      client.chat.postEphemeral({
        channel: who.channelId,
        user: who.userId,
        ...(body.message?.thread_ts ? { thread_ts: String(body.message.thread_ts) } : {}),
        text: `Which cause was right for ${inc.id}?`,
        blocks: feedbackBlocks(inc.id, current, ALL_CAUSES),
      }),
    ).catch((err) => deps.log.error({ err: errorMessage(err) }, 'could not ask which cause was right'));
  });

  app.action<BlockAction<StaticSelectAction>>(ACTION_IDS.feedback, async ({ ack, body, action, respond }) => {
    await ack();
    const text = await recordFeedback(action.selected_option.value, body.user.id, deps).catch((err) =>
      failed('record the feedback', err),
    );
    await respond({ response_type: 'ephemeral', replace_original: true, text });
  });
}
