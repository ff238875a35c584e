import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Arrivals, transcriptOf } from '../../src/demo/local-slack.js';

/** One call the stand-in received, with its arguments decoded as Slack decodes them. */
export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
  token: string | null;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  edits: number;
}

/**
 * How the next call fails: a 429 with Retry-After, a 5xx, an ok:false error, a
 * connection cut before anything happens (`drop`), or a call that succeeds at
 * Slack but whose answer never arrives (`acceptThenDrop`: stored, then the socket is cut).
 */
export type Fault =
  | { status: 429; retryAfter: number }
  | { status: 500 | 502 | 503 }
  | { error: string }
  | { drop: true }
  | { acceptThenDrop: true };

type Answer = { status: number; body: unknown; headers?: Record<string, string>; cut?: boolean };

/** Slack's ts as a number that orders and compares exactly ("1700000000.000012" → µs). */
function tsMicros(ts: string): number {
  const [s = '0', f = ''] = ts.split('.');
  return Number(s) * 1e6 + Number(f.padEnd(6, '0').slice(0, 6));
}

const truthy = (v: unknown) => v === true || v === 'true' || v === '1' || v === 1;

/** A message posted to a response_url (slash commands and interactions answer the user through these). */
export interface ResponseUrlPost {
  id: string;
  body: Record<string, unknown>;
  at: number;
}

/** Fields Slack accepts as JSON strings inside a form-encoded body. */
const JSON_FIELDS = ['blocks', 'attachments', 'metadata', 'files', 'view'];

function decode(contentType: string, raw: string): Record<string, unknown> {
  if (contentType.startsWith('application/json'))
    return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const args: Record<string, unknown> = Object.fromEntries(new URLSearchParams(raw));
  for (const f of JSON_FIELDS) {
    const v = args[f];
    if (typeof v === 'string') {
      try {
        args[f] = JSON.parse(v);
      } catch {
        /* left as the string Slack would reject */
      }
    }
  }
  return args;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * A stand-in for the Slack Web API, over HTTP, for tests: answers as Slack does
 * (HTTP 200 with ok:false for API errors, 429 with Retry-After, cursor paging),
 * keeps the messages it was sent, and can be told to fail (`failNext`). The demo
 * has its own small printer (src/demo/local-slack.ts) without fault injection.
 */
export class FakeSlack {
  readonly calls: SlackCall[] = [];
  readonly messages: StoredMessage[] = [];
  readonly uploads = new Map<string, { filename: string; length: number; bytes?: Buffer; title?: string }>();
  /** User group id → member user ids, as `usergroups.users.list` answers. */
  readonly usergroups = new Map<string, string[]>();
  readonly ephemerals: {
    channel: string;
    user: string;
    text: string;
    blocks?: unknown[];
    thread_ts?: string;
  }[] = [];
  readonly views: { trigger_id: string; view: unknown }[] = [];
  readonly responses: ResponseUrlPost[] = [];
  private readonly faults = new Map<string, Fault[]>();
  private server?: Server;
  private seq = 0;
  private readonly arrivals = new Arrivals();
  url = '';

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      if (this.dropNext(req)) {
        req.socket.destroy();
        return;
      }
      void this.handle(req).then(
        ({ status, body, headers, cut }) => {
          if (cut) {
            req.socket.destroy();
            return;
          }
          res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
          res.end(JSON.stringify(body));
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error: `fake_slack_error: ${err.message}` }));
        },
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** The next call(s) of `method` fail this way, in order. */
  failNext(method: string, ...faults: Fault[]): void {
    this.faults.set(method, [...(this.faults.get(method) ?? []), ...faults]);
  }

  /** A response_url that posts back to this stand-in; `responses` records what arrives there. */
  responseUrl(id: string): string {
    return `${this.url.replace(/\/api\/$/, '')}/response/${id}`;
  }

  /** A `{drop: true}` fault: the connection is cut before an answer (and before anything is stored). */
  private dropNext(req: IncomingMessage): boolean {
    const method = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/api\//, '');
    const next = this.faults.get(method)?.[0];
    if (!next || !('drop' in next)) return false;
    this.faults.get(method)!.shift();
    this.calls.push({ method, args: {}, at: Date.now(), token: null });
    this.arrivals.notify();
    return true;
  }

  callsOf(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  roots(): StoredMessage[] {
    return this.messages.filter((m) => !m.thread_ts);
  }

  replies(rootTs: string): StoredMessage[] {
    return this.messages.filter((m) => m.thread_ts === rootTs);
  }

  /** Resolves when `predicate` holds, checking after every call; rejects after `timeoutMs`. */
  waitFor<T>(predicate: () => T | undefined | false | null, timeoutMs = 20_000): Promise<T> {
    return this.arrivals.waitFor(
      predicate,
      timeoutMs,
      () => `fake Slack (calls: ${this.calls.map((c) => c.method).join(', ')})`,
    );
  }

  private channelId(name: string): string {
    if (/^[CGD][A-Z0-9]{6,}$/.test(name)) return name;
    return `C${createHash('sha1').update(name).digest('hex').slice(0, 8).toUpperCase()}`;
  }

  private nextTs(): string {
    this.seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.seq).padStart(6, '0')}`;
  }

  private async handle(req: IncomingMessage): Promise<Answer> {
    const url = new URL(req.url ?? '/', 'http://x');
    const raw = await readAll(req);
    if (url.pathname.startsWith('/response/')) {
      const body = decode(String(req.headers['content-type'] ?? ''), raw.toString('utf8'));
      this.responses.push({ id: url.pathname.slice('/response/'.length), body, at: Date.now() });
      this.arrivals.notify();
      return { status: 200, body: { ok: true } };
    }
    if (url.pathname.startsWith('/upload/')) {
      const id = url.pathname.slice('/upload/'.length);
      const file = this.uploads.get(id);
      if (!file) return { status: 404, body: { ok: false } };
      file.bytes = raw;
      return { status: 200, body: { ok: true } };
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const args = decode(String(req.headers['content-type'] ?? ''), raw.toString('utf8'));
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ')
      ? auth.slice(7)
      : typeof args.token === 'string'
        ? args.token
        : null;
    const call: SlackCall = { method, args, at: Date.now(), token };
    this.calls.push(call);
    try {
      const fault = this.faults.get(method)?.shift();
      if (fault) {
        if ('error' in fault) return { status: 200, body: { ok: false, error: fault.error } };
        if ('drop' in fault) return { status: 200, body: { ok: false, error: 'fake_slack_misplaced_drop' } };
        if ('acceptThenDrop' in fault) {
          const body = token ? this.answer(method, args) : { ok: false, error: 'not_authed' };
          return { status: 200, body, cut: true };
        }
        if (fault.status === 429)
          return {
            status: 429,
            body: { ok: false, error: 'ratelimited' },
            headers: { 'retry-after': String(fault.retryAfter) },
          };
        return { status: fault.status, body: { ok: false, error: 'internal_error' } };
      }
      if (!token) return { status: 200, body: { ok: false, error: 'not_authed' } };
      return { status: 200, body: this.answer(method, args) };
    } finally {
      this.arrivals.notify();
    }
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://local.slack/',
          team: 'local',
          user: 'gatewatch',
          team_id: 'T0LOCAL',
          user_id: 'U0GATEWATCH',
          bot_id: 'B0GATEWATCH',
        };
      case 'chat.postMessage': {
        if (!args.channel) return { ok: false, error: 'channel_not_found' };
        if (!args.text && !args.blocks) return { ok: false, error: 'no_text' };
        const blocks = args.blocks as unknown[] | undefined;
        if (blocks && blocks.length > 50) return { ok: false, error: 'invalid_blocks' };
        const channel = this.channelId(String(args.channel));
        const thread = args.thread_ts ? String(args.thread_ts) : undefined;
        if (thread && !this.messages.some((m) => m.channel === channel && m.ts === thread && !m.thread_ts))
          return { ok: false, error: 'thread_not_found' };
        const msg: StoredMessage = {
          channel,
          ts: this.nextTs(),
          thread_ts: thread,
          text: String(args.text ?? ''),
          blocks,
          metadata: args.metadata as StoredMessage['metadata'],
          edits: 0,
        };
        this.messages.push(msg);
        return { ok: true, channel, ts: msg.ts, message: { ...msg, type: 'message' } };
      }
      case 'chat.update': {
        const msg = this.messages.find((m) => m.channel === args.channel && m.ts === args.ts);
        if (!msg) return { ok: false, error: 'message_not_found' };
        if (args.text !== undefined) msg.text = String(args.text);
        if (args.blocks !== undefined) msg.blocks = args.blocks as unknown[];
        if (args.metadata !== undefined) msg.metadata = args.metadata as StoredMessage['metadata'];
        msg.edits += 1;
        return { ok: true, channel: msg.channel, ts: msg.ts, text: msg.text };
      }
      case 'conversations.history':
        return this.history(args);
      case 'conversations.replies':
        return this.threadReplies(args);
      case 'chat.postEphemeral': {
        if (!args.channel || !args.user) return { ok: false, error: 'channel_not_found' };
        this.ephemerals.push({
          channel: String(args.channel),
          user: String(args.user),
          text: String(args.text ?? ''),
          blocks: args.blocks as unknown[] | undefined,
          thread_ts: args.thread_ts ? String(args.thread_ts) : undefined,
        });
        return { ok: true, message_ts: this.nextTs() };
      }
      case 'views.open': {
        if (!args.trigger_id) return { ok: false, error: 'invalid_trigger_id' };
        this.views.push({ trigger_id: String(args.trigger_id), view: args.view });
        return { ok: true, view: { id: `V${String(this.views.length).padStart(8, '0')}` } };
      }
      case 'usergroups.users.list': {
        const users = this.usergroups.get(String(args.usergroup ?? ''));
        return users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      }
      case 'files.getUploadURLExternal': {
        const id = `F${String(this.uploads.size + 1).padStart(8, '0')}`;
        this.uploads.set(id, { filename: String(args.filename ?? ''), length: Number(args.length ?? 0) });
        return { ok: true, upload_url: `${this.url.replace(/\/api\/$/, '')}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const files = (args.files as { id: string; title?: string }[] | undefined) ?? [];
        for (const f of files) {
          const u = this.uploads.get(f.id);
          if (!u?.bytes) return { ok: false, error: 'file_not_found' };
          u.title = f.title;
        }
        return { ok: true, files: files.map((f) => ({ id: f.id, title: f.title })) };
      }
      default:
        return { ok: true };
    }
  }

  /** A message as the conversations.* methods return it: metadata only when asked for. */
  private asListed(m: StoredMessage, args: Record<string, unknown>): Record<string, unknown> {
    const replies = m.thread_ts ? [] : this.replies(m.ts);
    return {
      type: 'message',
      subtype: 'bot_message',
      bot_id: 'B0GATEWATCH',
      ts: m.ts,
      text: m.text,
      ...(m.blocks ? { blocks: m.blocks } : {}),
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      ...(replies.length > 0 ? { thread_ts: m.ts, reply_count: replies.length } : {}),
      ...(m.metadata && truthy(args.include_all_metadata) ? { metadata: m.metadata } : {}),
    };
  }

  /** One page of `list` as Slack pages: `limit` (default 100), an opaque cursor, `has_more`. */
  private page(list: StoredMessage[], args: Record<string, unknown>, key: string) {
    const limit = Math.min(Math.max(Number(args.limit ?? 100) || 100, 1), 1000);
    const cursor = typeof args.cursor === 'string' && args.cursor ? args.cursor : '';
    const start = cursor
      ? Number(
          Buffer.from(cursor, 'base64')
            .toString('utf8')
            .replace(/^next:/, ''),
        )
      : 0;
    if (!Number.isInteger(start) || start < 0) return { ok: false, error: 'invalid_cursor' };
    const slice = list.slice(start, start + limit);
    const more = start + limit < list.length;
    return {
      ok: true,
      [key]: slice.map((m) => this.asListed(m, args)),
      has_more: more,
      response_metadata: { next_cursor: more ? Buffer.from(`next:${start + limit}`).toString('base64') : '' },
    };
  }

  /** Slack wants a conversation id here: a `#name` is channel_not_found, as at Slack. */
  private knownChannel(args: Record<string, unknown>): string | null {
    const channel = String(args.channel ?? '');
    return /^[CGD][A-Z0-9]{6,}$/.test(channel) ? channel : null;
  }

  /** conversations.history: the channel's top-level messages in (oldest, latest], newest first. */
  private history(args: Record<string, unknown>): Record<string, unknown> {
    const channel = this.knownChannel(args);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const inclusive = truthy(args.inclusive);
    const oldest = args.oldest !== undefined ? tsMicros(String(args.oldest)) : 0;
    const latest = args.latest !== undefined ? tsMicros(String(args.latest)) : Number.POSITIVE_INFINITY;
    const list = this.messages
      .filter((m) => m.channel === channel && !m.thread_ts)
      .filter((m) => {
        const t = tsMicros(m.ts);
        return inclusive ? t >= oldest && t <= latest : t > oldest && t < latest;
      })
      .sort((a, b) => tsMicros(b.ts) - tsMicros(a.ts));
    return this.page(list, args, 'messages');
  }

  /** conversations.replies: the thread's root first, then its replies oldest first. */
  private threadReplies(args: Record<string, unknown>): Record<string, unknown> {
    const channel = this.knownChannel(args);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    if (!args.ts) return { ok: false, error: 'invalid_arguments' };
    const root = this.messages.find((m) => m.channel === channel && m.ts === String(args.ts) && !m.thread_ts);
    if (!root) return { ok: false, error: 'thread_not_found' };
    const list = [root, ...this.replies(root.ts).sort((a, b) => tsMicros(a.ts) - tsMicros(b.ts))];
    return this.page(list, args, 'messages');
  }

  /** The conversation as a person would read it: root messages, each with its thread. */
  transcript(): string {
    return transcriptOf(this.messages);
  }
}
