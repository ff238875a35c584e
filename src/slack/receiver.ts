import type { App, Receiver } from '@slack/bolt';

export interface SlackHttpAnswer {
  status: number;
  body: string;
  contentType: string;
}

/**
 * The body is already serialised JSON; the charset parameter also tells the
 * HTTP layer to send it as is rather than serialise it a second time.
 */
export const JSON_TYPE = 'application/json; charset=utf-8';

/** Slack gives up on an ack after 3 s; answer empty just before, and let the handler reply later. */
const ACK_DEADLINE_MS = 2500;

/**
 * A Bolt receiver fed by gatewatch's own HTTP server, so Slack events and the
 * webhooks share one port. Requests arrive here already signature-checked and
 * parsed; the answer is whatever the Bolt handler passed to `ack()`.
 */
export class InProcessReceiver implements Receiver {
  private app?: App;

  init(app: App): void {
    this.app = app;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  dispatch(
    body: Record<string, unknown>,
    retry?: { num?: number; reason?: string },
  ): Promise<SlackHttpAnswer> {
    const app = this.app;
    if (!app)
      return Promise.resolve({
        status: 503,
        body: '{"error":"slack app not ready"}',
        contentType: JSON_TYPE,
      });
    return new Promise((resolve) => {
      let settled = false;
      const settle = (a: SlackHttpAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(a);
      };
      const timer = setTimeout(
        () => settle({ status: 200, body: '', contentType: 'text/plain' }),
        ACK_DEADLINE_MS,
      );
      const ack = async (response?: unknown) => {
        if (response instanceof Error) settle({ status: 500, body: '', contentType: 'text/plain' });
        else if (response === undefined || response === null || response === '')
          settle({ status: 200, body: '', contentType: 'text/plain' });
        else if (typeof response === 'string')
          settle({ status: 200, body: response, contentType: 'text/plain' });
        else settle({ status: 200, body: JSON.stringify(response), contentType: JSON_TYPE });
      };
      app
        .processEvent({ body, ack, retryNum: retry?.num, retryReason: retry?.reason })
        .catch(() => settle({ status: 500, body: '', contentType: 'text/plain' }));
    });
  }
}
