import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stand-in received. */
export interface PagerDutyCall {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  at: number;
}

export type PagerDutyFault =
  | { status: 429; retryAfter: number }
  | { status: 500 | 502 | 503 }
  | { drop: true };

interface FakeIncident {
  id: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  notes: { id: string; content: string; from?: string }[];
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * A local stand-in for PagerDuty's REST API v2 over HTTP: checks the token and
 * headers as PagerDuty does, answers with its shapes and error bodies, keeps
 * the incidents' status and notes, and can be told to fail (429, 5xx, cut connection).
 */
export class FakePagerDuty {
  readonly calls: PagerDutyCall[] = [];
  readonly incidents = new Map<string, FakeIncident>();
  private readonly faults: PagerDutyFault[] = [];
  private server?: Server;
  private seq = 0;
  url = '';

  constructor(
    readonly token: string,
    /** When set, writes need this `From` (as with an account-level token). */
    readonly requireFrom?: string,
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then((a) => {
        if (!a) {
          req.socket.destroy();
          return;
        }
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
        res.end(JSON.stringify(a.body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  addIncident(id: string): void {
    this.incidents.set(id, { id, status: 'triggered', notes: [] });
  }

  /** The next requests fail this way, in order. */
  failNext(...faults: PagerDutyFault[]): void {
    this.faults.push(...faults);
  }

  private async handle(
    req: IncomingMessage,
  ): Promise<{ status: number; body: unknown; headers?: Record<string, string> } | null> {
    const raw = await readAll(req);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let body: unknown = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      return {
        status: 400,
        body: { error: { message: 'Invalid Input Provided', code: 2001, errors: ['bad json'] } },
      };
    }
    this.calls.push({ method: req.method ?? '', path, headers: req.headers, body, at: Date.now() });
    const fault = this.faults.shift();
    if (fault) {
      if ('drop' in fault) return null;
      if (fault.status === 429)
        return {
          status: 429,
          body: { error: { message: 'Rate Limit Exceeded', code: 2020 } },
          headers: { 'retry-after': String(fault.retryAfter) },
        };
      return { status: fault.status, body: { error: { message: 'Internal Server Error', code: 2001 } } };
    }
    if (req.headers.authorization !== `Token token=${this.token}`)
      return { status: 401, body: { error: { message: 'Unauthorized', code: 2006 } } };
    if (req.headers.accept !== 'application/vnd.pagerduty+json;version=2')
      return { status: 406, body: { error: { message: 'Not Acceptable', code: 2001 } } };
    const from = typeof req.headers.from === 'string' ? req.headers.from : undefined;
    if (this.requireFrom && from !== this.requireFrom)
      return {
        status: 400,
        body: {
          error: { message: 'Invalid Input Provided', code: 2001, errors: ['Requester User Not Found'] },
        },
      };
    const m = /^\/incidents\/([^/]+)(\/notes)?$/.exec(path);
    const inc = m ? this.incidents.get(decodeURIComponent(m[1]!)) : undefined;
    if (!m || !inc) return { status: 404, body: { error: { message: 'Not Found', code: 2100 } } };
    if (m[2] && req.method === 'POST') {
      const content = (body as { note?: { content?: unknown } })?.note?.content;
      if (typeof content !== 'string' || content.length === 0)
        return {
          status: 400,
          body: {
            error: { message: 'Invalid Input Provided', code: 2001, errors: ['Note content is required'] },
          },
        };
      const note = { id: `PNOTE${++this.seq}`, content, from };
      inc.notes.push(note);
      return { status: 201, body: { note: { id: note.id, content, created_at: new Date().toISOString() } } };
    }
    if (!m[2] && req.method === 'PUT') {
      const want = (body as { incident?: { type?: unknown; status?: unknown } })?.incident;
      if (
        want?.type !== 'incident_reference' ||
        (want.status !== 'acknowledged' && want.status !== 'resolved')
      )
        return { status: 400, body: { error: { message: 'Invalid Input Provided', code: 2001 } } };
      if (inc.status !== 'resolved') inc.status = want.status;
      return { status: 200, body: { incident: { id: inc.id, type: 'incident', status: inc.status } } };
    }
    return { status: 405, body: { error: { message: 'Method Not Allowed', code: 2001 } } };
  }
}
