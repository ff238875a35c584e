import { request } from 'undici';
import type { TestGatewatch } from '../helpers/gatewatch.js';
import { slackSigned } from '../helpers/signed.js';

/** Posts a body to /slack/events signed as Slack signs it (or with the given clock / secret). */
export async function postSlack(
  gw: TestGatewatch,
  body: string,
  opts: { nowMs?: number; secret?: string; contentType?: string; signature?: string } = {},
) {
  const started = performance.now();
  const res = await request(`${gw.baseUrl}/slack/events`, {
    method: 'POST',
    headers: slackSigned(body, opts),
    body,
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
    ms: performance.now() - started,
  };
}

/** A slash command body as Slack sends it: URL-encoded fields. */
export function slashCommand(fields: {
  text: string;
  channel_id?: string;
  channel_name?: string;
  user_id?: string;
  response_url: string;
}): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0LOCAL',
    team_domain: 'local',
    channel_id: fields.channel_id ?? 'C0OPS0001',
    channel_name: fields.channel_name ?? 'ops',
    user_id: fields.user_id ?? 'U0ALICE01',
    user_name: 'alice',
    command: '/gateway',
    text: fields.text,
    api_app_id: 'A0GATEWATCH',
    is_enterprise_install: 'false',
    response_url: fields.response_url,
    trigger_id: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  }).toString();
}

/** A block_actions interaction body: `payload=` URL-encoded JSON, as Slack sends a button press. */
export function blockAction(a: {
  actionId: string;
  value?: string;
  selected?: string;
  channelId: string;
  messageTs: string;
  threadTs?: string;
  userId?: string;
  responseUrl: string;
}): string {
  const action = a.selected
    ? {
        type: 'static_select',
        action_id: a.actionId,
        block_id: 'b1',
        selected_option: { text: { type: 'plain_text', text: a.selected }, value: a.selected },
        action_ts: '1741079900.000200',
      }
    : {
        type: 'button',
        action_id: a.actionId,
        block_id: 'b1',
        value: a.value,
        text: { type: 'plain_text', text: 'button' },
        action_ts: '1741079900.000200',
      };
  const payload = {
    type: 'block_actions',
    user: { id: a.userId ?? 'U0ALICE01', username: 'alice', name: 'alice', team_id: 'T0LOCAL' },
    api_app_id: 'A0GATEWATCH',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: a.messageTs, channel_id: a.channelId, is_ephemeral: false },
    trigger_id: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703d',
    team: { id: 'T0LOCAL', domain: 'local' },
    channel: { id: a.channelId, name: 'incidents' },
    message: {
      type: 'message',
      ts: a.messageTs,
      ...(a.threadTs ? { thread_ts: a.threadTs } : {}),
      text: 'verdict',
    },
    response_url: a.responseUrl,
    actions: [action],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
