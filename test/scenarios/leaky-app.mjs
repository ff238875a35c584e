// A service whose new release leaks: every request keeps ~2 MB of heap for
// good, so under a small --max-old-space-size the process dies of heap
// exhaustion after a few requests ("Reached heap limit", SIGABRT), the way a
// container is OOMKilled at its memory limit. Prints {"port": N} once listening.
import { createServer } from 'node:http';

const kept = [];
const server = createServer((_req, res) => {
  // A double array lives on the V8 heap (a Buffer would not): 256 Ki doubles = 2 MB per request.
  kept.push(new Array(256 * 1024).fill(0).map((_, i) => i * 1.5 + kept.length));
  res.end('ok');
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
