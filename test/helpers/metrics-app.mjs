// A stand-in application for load tests: serves prom-client's default process
// metrics on /metrics and, with `busy`, burns one core in a worker thread so the
// main thread still answers scrapes. Prints {"port": N} once listening.
import { createServer } from 'node:http';
import { Worker } from 'node:worker_threads';
import { collectDefaultMetrics, Registry } from 'prom-client';

const registry = new Registry();
collectDefaultMetrics({ register: registry });

if (process.argv[2] === 'busy') {
  new Worker('for (;;) {}', { eval: true });
}

const server = createServer(async (req, res) => {
  if (req.url !== '/metrics') {
    res.statusCode = 404;
    res.end();
    return;
  }
  res.setHeader('content-type', registry.contentType);
  res.end(await registry.metrics());
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
