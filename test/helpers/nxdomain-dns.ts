import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface NxdomainDns {
  port: number;
  close(): Promise<void>;
}

/** Length of the header plus the question section: where the answer sections would begin. */
function questionEnd(query: Buffer): number {
  let i = 12;
  while (i < query.length && query[i] !== 0) i += (query[i] ?? 0) + 1;
  return Math.min(query.length, i + 1 + 4);
}

/**
 * A DNS server on 127.0.0.1 (UDP) that answers every question NXDOMAIN, the way
 * a real resolver answers for `.invalid` names (RFC 6761): for proxies that
 * resolve at request time (`resolver` + a variable in nginx's `proxy_pass`).
 */
export async function startNxdomainDns(): Promise<NxdomainDns> {
  const socket = createSocket('udp4');
  socket.on('message', (query, peer) => {
    if (query.length < 12) return;
    const reply = Buffer.from(query.subarray(0, questionEnd(query)));
    // QR=1 and keep RD; RA=1, RCODE=3 (name error); one question, no answers or records.
    reply[2] = 0x80 | ((query[2] ?? 0) & 0x01);
    reply[3] = 0x80 | 0x03;
    reply.writeUInt16BE(0, 6);
    reply.writeUInt16BE(0, 8);
    reply.writeUInt16BE(0, 10);
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: (socket.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
