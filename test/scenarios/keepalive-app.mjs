// An HTTP/1.1 upstream whose idle keep-alive timeout fires just as the proxy
// reuses the connection: it advertises `Keep-Alive: timeout=S` and, when a request
// arrives on a connection idle longer than that, closes it without answering —
// the race a server with a keep-alive timeout shorter than the proxy's loses now
// and then, made to lose every time. Fresh connections are always answered.
// Prints {"port": N} once listening.
import { createServer } from 'node:net';

const idleSeconds = Number(process.argv[2] ?? '1');
const RESPONSE = `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\nkeep-alive: timeout=${idleSeconds}\r\n\r\nok`;

const server = createServer((socket) => {
  let buffered = '';
  let idleSince = null;
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    if (idleSince !== null && Date.now() - idleSince > idleSeconds * 1000) {
      socket.destroy();
      return;
    }
    buffered += chunk.toString('latin1');
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.slice(0, end);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? '0');
      if (buffered.length < end + 4 + length) return;
      buffered = buffered.slice(end + 4 + length);
      socket.write(RESPONSE);
      idleSince = Date.now();
    }
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
