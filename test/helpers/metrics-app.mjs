// A stand-in application for load tests: serves prom-client's default process
// metrics on /metrics and, with `busy`, burns one core in a worker thread so the
// main thread still answers scrapes; with `loop`, burns its main thread, as a
// CPU-bound Node service does (scrapes answered between stretches of work). Prints {"port": N} once listening.
import { createServer } from 'node:http';
import { Worker } from 'node:worker_threads';
import { collectDefaultMetrics, Registry } from 'prom-client';

const registry = new Registry();
collectDefaultMetrics({ register: registry });

if (process.argv[2] === 'busy') {
  new Worker('for (;;) {}', { eval: true });
}
if (process.argv[2] === 'loop') {
  // A CPU-bound Node service: its one thread works in 300 ms stretches and only then
  // serves what waits (scrapes included), so its event loop lags whatever CPU share it gets.
  const burn = () => {
    const end = performance.now() + 300;
    while (performance.now() < end) {}
    setImmediate(burn);
  };
  burn();
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
