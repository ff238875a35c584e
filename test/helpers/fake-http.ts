import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What a fake API saw: enough to assert parameters and headers (auth, tenant) were sent as documented. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeHttp {
  url: string;
  requests: SeenRequest[];
  /** Connections the fake holds open right now: a client that lets go leaves none. */
  openConnections(): number;
  /** Every request from now on gets this status and raw body (a 429, a 504…), until `heal()`. */
  fail(status: number, body: string, contentType?: string): void;
  /** Every request from now on is read and never answered, until `heal()`. */
  hang(): void;
  heal(): void;
  close(): Promise<void>;
}

/**
 * The frame of every HTTP fake in test/helpers: records requests, tracks open
 * connections, and can be told to fail or hang; `handle` speaks the real API.
 */
export async function fakeHttp(
  handle: (req: SeenRequest, res: ServerResponse) => void | Promise<void>,
): Promise<FakeHttp> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let failure: { status: number; body: string; type: string } | 'hang' | null = null;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const seen: SeenRequest = {
        method: req.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(seen);
      if (failure === 'hang') return;
      if (failure) {
        res.writeHead(failure.status, { 'content-type': failure.type });
        res.end(failure.body);
        return;
      }
      try {
        await handle(seen, res);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake failed: ${String(err)}`);
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    openConnections: () => sockets.size,
    fail(status, body, contentType = 'text/plain; charset=utf-8') {
      failure = { status, body, type: contentType };
    },
    hang() {
      failure = 'hang';
    },
    heal() {
      failure = null;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Lines appended to a file since the last call, as a log shipper (Promtail, Filebeat) tails it. */
export function tailer(read: () => string): () => string[] {
  let offset = 0;
  return () => {
    const text = read();
    const end = text.lastIndexOf('\n') + 1;
    const fresh = text.slice(offset, end);
    offset = end;
    return fresh.split('\n').filter((l) => l.trim() !== '');
  };
}
