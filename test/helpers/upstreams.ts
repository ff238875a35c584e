import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { freePort } from './ports.js';

export interface Upstream {
  port: number;
  url: string;
  close(): Promise<void>;
}

async function listen(server: Server | TcpServer, path = '/healthz'): Promise<Upstream> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers 200 at once. */
export function healthyUpstream(body = 'ok'): Promise<Upstream> {
  return listen(createServer((_, res) => res.end(body)));
}

/** Answers the given status. */
export function statusUpstream(status: number): Promise<Upstream> {
  return listen(
    createServer((_, res) => {
      res.statusCode = status;
      res.end('error');
    }),
  );
}

/** A port where nothing listens: connections are refused. */
export async function refusingUpstream(): Promise<Upstream> {
  const port = await freePort();
  return { port, url: `http://127.0.0.1:${port}/healthz`, close: async () => {} };
}

/** Accepts the connection, then destroys it before answering (a crash mid-request). */
export function resettingUpstream(): Promise<Upstream> {
  const server = createTcpServer((socket) => {
    socket.once('data', () => socket.resetAndDestroy());
  });
  return listen(server);
}

/** Accepts and never answers. */
/** Accepts and never answers; `openConnections()` tells whether clients let go of it. */
export function hangingUpstream(): Promise<Upstream & { openConnections(): number }> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    // Read and drop the request, so a client's close is seen (a paused socket never emits 'end').
    socket.resume();
  });
  const up = listen(server);
  return up.then((u) => ({
    ...u,
    openConnections: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await u.close();
    },
  }));
}

/** Answers after `ms` with an idle CPU. */
export function slowUpstream(ms: number): Promise<Upstream> {
  const server = createServer((_, res) => {
    const t = setTimeout(() => res.end('slow ok'), ms);
    res.on('close', () => clearTimeout(t));
  });
  return listen(server);
}
