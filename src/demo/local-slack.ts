import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Web API call the printer received. */
export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
}

export interface PrintedMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  edits: number;
}

function decode(contentType: string, raw: string): Record<string, unknown> {
  if (contentType.startsWith('application/json'))
    return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const args: Record<string, unknown> = Object.fromEntries(new URLSearchParams(raw));
  if (typeof args.metadata === 'string') {
    try {
      args.metadata = JSON.parse(args.metadata);
    } catch {
      /* kept as sent */
    }
  }
  return args;
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The demo's Slack: a local HTTP server that takes the few Web API methods
 * gatewatch posts with (post, update, the thread look-ups) and prints the
 * conversation as a person would read it. It never fails on purpose; the
 * tests' fake with fault injection lives in test/helpers.
 */
export class LocalSlack {
  readonly calls: SlackCall[] = [];
  readonly messages: PrintedMessage[] = [];
  private server?: Server;
  private seq = 0;
  private readonly arrivals = new Arrivals();
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void readAll(req).then((raw) => {
        const method = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/api\//, '');
        const args = decode(String(req.headers['content-type'] ?? ''), raw);
        this.calls.push({ method, args, at: Date.now() });
        const body = this.answer(method, args);
        this.arrivals.notify();
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  callsOf(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  roots(): PrintedMessage[] {
    return this.messages.filter((m) => !m.thread_ts);
  }

  replies(rootTs: string): PrintedMessage[] {
    return this.messages.filter((m) => m.thread_ts === rootTs);
  }

  /** Resolves when `predicate` holds, checking after every call; rejects after `timeoutMs`. */
  waitFor<T>(predicate: () => T | undefined | false | null, timeoutMs = 20_000): Promise<T> {
    return this.arrivals.waitFor(predicate, timeoutMs, () => 'local Slack: nothing arrived');
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    if (method === 'chat.postMessage') {
      const msg: PrintedMessage = {
        channel: String(args.channel ?? ''),
        ts: `${Math.floor(Date.now() / 1000)}.${String(++this.seq).padStart(6, '0')}`,
        thread_ts: args.thread_ts ? String(args.thread_ts) : undefined,
        text: String(args.text ?? ''),
        metadata: args.metadata as PrintedMessage['metadata'],
        edits: 0,
      };
      this.messages.push(msg);
      return { ok: true, channel: msg.channel, ts: msg.ts };
    }
    if (method === 'chat.update') {
      const msg = this.messages.find((m) => m.channel === args.channel && m.ts === args.ts);
      if (!msg) return { ok: false, error: 'message_not_found' };
      if (args.text !== undefined) msg.text = String(args.text);
      msg.edits += 1;
      return { ok: true, channel: msg.channel, ts: msg.ts };
    }
    // The thread look-ups only run after a lost answer, which never happens here.
    if (method.startsWith('conversations.'))
      return { ok: true, messages: [], has_more: false, response_metadata: { next_cursor: '' } };
    return { ok: true };
  }

  /** The conversation as a person would read it: root messages, each with its thread. */
  transcript(): string {
    return transcriptOf(this.messages);
  }
}

/** Root messages, each with its thread, as a person would read them (also the tests' fake uses it). */
export function transcriptOf(messages: readonly PrintedMessage[]): string {
  const out: string[] = [];
  for (const root of messages.filter((m) => !m.thread_ts)) {
    out.push(
      `#${root.channel.replace(/^#/, '')}  ${root.text}${root.edits ? `  (edited ${root.edits}×)` : ''}`,
    );
    for (const r of messages.filter((m) => m.thread_ts === root.ts)) {
      out.push('  └─ thread reply:');
      for (const line of r.text.split('\n')) out.push(`     ${line}`);
      if (r.metadata)
        out.push(
          `     [metadata ${r.metadata.event_type}: ${JSON.stringify({ cause: r.metadata.event_payload.cause, recommendation: r.metadata.event_payload.recommendation })}]`,
        );
    }
  }
  return out.join('\n');
}

/**
 * Waiting on a stand-in server without polling: every arrival (a call, a post)
 * re-checks the pending conditions. The demo's printer and the tests' fake share it.
 */
export class Arrivals {
  private listeners: (() => void)[] = [];

  notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves when `predicate` holds; rejects after `timeoutMs` with `describe()` in the message. */
  waitFor<T>(
    predicate: () => T | undefined | false | null,
    timeoutMs: number,
    describe: () => string,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = predicate();
        if (!v) return;
        cleanup();
        resolve(v);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${describe()}: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
      };
      this.listeners.push(check);
      check();
    });
  }
}
