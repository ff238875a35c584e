import type { WebClient } from '@slack/web-api';
import type { Playbook } from '../playbooks/schema.js';
import { callSlack } from './client.js';

export interface Requester {
  channelId: string;
  channelName?: string;
  userId: string;
}

export type Permission = { allowed: true } | { allowed: false; why: string };

function channelListed(allowed: readonly string[], who: Requester): boolean {
  const names = who.channelName ? [who.channelName, `#${who.channelName}`] : [];
  return allowed.some((a) => a === who.channelId || names.includes(a));
}

/**
 * Who may run a service's checks: the playbook's `slack.allowed_channels`
 * (ids or #names) and `slack.allowed_usergroups` (user group ids), each
 * unrestricted when absent. Group membership is asked of Slack each time, so
 * a change in Slack applies at once.
 */
export async function mayRunChecks(
  playbook: Pick<Playbook, 'service' | 'slack'>,
  who: Requester,
  client: Pick<WebClient, 'usergroups'> | undefined,
): Promise<Permission> {
  const channels = playbook.slack.allowed_channels;
  if (channels && !channelListed(channels, who))
    return { allowed: false, why: `Checks of ${playbook.service} may not be run from this channel.` };
  const groups = playbook.slack.allowed_usergroups;
  if (!groups || groups.length === 0) return { allowed: true };
  if (!client)
    return {
      allowed: false,
      why: `Checks of ${playbook.service} are limited to user groups gatewatch cannot read.`,
    };
  for (const usergroup of groups) {
    const res = await callSlack('usergroups.users.list', () => client.usergroups.users.list({ usergroup }));
    if (res.users?.includes(who.userId)) return { allowed: true };
  }
  return {
    allowed: false,
    why: `Checks of ${playbook.service} may only be run by members of ${groups.map((g) => `<!subteam^${g}>`).join(', ')}.`,
  };
}
