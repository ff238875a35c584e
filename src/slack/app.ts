import { App, LogLevel, SocketModeReceiver } from '@slack/bolt';
import type { Config } from '../config.js';
import { InProcessReceiver } from './receiver.js';

export type SlackTransport =
  | { mode: 'socket'; app: App; receiver: SocketModeReceiver }
  | { mode: 'http'; app: App; receiver: InProcessReceiver };

/**
 * The Bolt app and how Slack reaches it: Socket Mode when SLACK_APP_TOKEN is set
 * (gatewatch dials out; no public URL needed), else HTTP on /slack/events of
 * gatewatch's own server. Constructing connects nothing; `app.start()` does.
 */
export function createSlackApp(
  config: Pick<Config, 'SLACK_APP_TOKEN' | 'SLACK_BOT_TOKEN' | 'SLACK_API_URL'>,
): SlackTransport {
  const common = {
    // Without a bot token, commands still answer (in their ack); only Web API calls are unavailable.
    ...(config.SLACK_BOT_TOKEN ? { token: config.SLACK_BOT_TOKEN } : { authorize: async () => ({}) }),
    tokenVerificationEnabled: false,
    clientOptions: { slackApiUrl: config.SLACK_API_URL },
    logLevel: LogLevel.ERROR,
  };
  if (config.SLACK_APP_TOKEN) {
    const receiver = new SocketModeReceiver({ appToken: config.SLACK_APP_TOKEN, logLevel: LogLevel.ERROR });
    return { mode: 'socket', app: new App({ ...common, receiver }), receiver };
  }
  const receiver = new InProcessReceiver();
  return { mode: 'http', app: new App({ ...common, receiver }), receiver };
}
