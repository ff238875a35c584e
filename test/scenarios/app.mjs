// A stand-in service for the scenario worlds, run as its own process so its CPU
// is its own: prom-client's default metrics on /metrics, and every other path
// answers the way the mode says. Prints {"port": N} once listening.
//   ok          answers 200 at once
//   slow MS     answers after MS with an idle CPU
//   busy MS     burns the CPU for MS per request on the main thread, as a
//               CPU-bound Node service does: requests queue and the event loop lags
//   hot         a worker thread burns a core; requests still answer at once
//   db          runs a query on APP_DB_URL per request: 200, or 503 when it fails
//   mysql       on each request bumps a row of `orders` in the MySQL at APP_MYSQL_URL (waits on its row lock)
//   redis       on each request reads a key from the Redis at APP_REDIS_URL (waits while Redis is busy)
//               (db, mysql and redis combine: every database named in the environment is used per request)
//   bigheader N answers with N bytes of response headers (a fat cookie), as some apps do
//   leak MB     retains 1 MiB every 100 ms and is killed (SIGKILL, as the OOM killer does) at MB of RSS
//   tls         HTTPS with the key and certificate in TLS_KEY / TLS_CERT
//   crash N     answers N-1 requests, then dies in the middle of the Nth (a crash bug under a supervisor)
//   stuck       takes connections and never answers anything, /metrics included, with an idle CPU
//               (a deadlocked process)
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { collectDefaultMetrics, Registry } from 'prom-client';

const [mode = 'ok', arg = '0'] = process.argv.slice(2);
const registry = new Registry();
collectDefaultMetrics({ register: registry });

if (mode === 'hot') new Worker('for (;;) {}', { eval: true });

if (mode === 'leak') {
  const kept = [];
  setInterval(() => {
    kept.push(Buffer.alloc(1024 * 1024, kept.length));
    if (process.memoryUsage().rss > Number(arg) * 1024 * 1024) process.kill(process.pid, 'SIGKILL');
  }, 100);
}

const pool =
  mode === 'db'
    ? process.env.APP_DB_URL
      ? new pg.Pool({ connectionString: process.env.APP_DB_URL, max: 4, connectionTimeoutMillis: 1000 })
      : null
    : null;
pool?.on('error', () => {});
const deps = mode === 'db' || mode === 'mysql' || mode === 'redis';
const mysqlPool =
  deps && process.env.APP_MYSQL_URL
    ? mysql.createPool({ uri: process.env.APP_MYSQL_URL, connectionLimit: 4 })
    : null;
const redis =
  deps && process.env.APP_REDIS_URL
    ? new Redis(process.env.APP_REDIS_URL, { maxRetriesPerRequest: 1 })
    : null;
redis?.on('error', () => {});

async function answer(res) {
  if (mode === 'slow') await new Promise((r) => setTimeout(r, Number(arg)));
  if (mode === 'busy') {
    const end = performance.now() + Number(arg);
    while (performance.now() < end) {}
  }
  if (mode === 'bigheader') res.setHeader('set-cookie', `session=${'a'.repeat(Number(arg))}`);
  if (pool || mysqlPool || redis) {
    try {
      await pool?.query('SELECT count(*) FROM orders');
      await mysqlPool?.query('UPDATE orders SET hits = hits + 1 WHERE id = 1');
      await redis?.get('orders:count');
    } catch (err) {
      res.statusCode = 503;
      res.end(`database: ${err.code ?? err.message}`);
      return;
    }
  }
  res.end('ok');
}

let served = 0;
const handler = (req, res) => {
  if (mode === 'crash' && req.url !== '/metrics' && ++served >= Number(arg)) {
    req.socket.resetAndDestroy();
    process.exit(1);
  }
  // Deadlocked: the connection stays open and nothing is ever written.
  if (mode === 'stuck') return;
  if (req.url === '/metrics') {
    registry.metrics().then((text) => {
      res.setHeader('content-type', registry.contentType);
      res.end(text);
    });
    return;
  }
  answer(res).catch(() => res.destroy());
};
const server =
  mode === 'tls'
    ? createTlsServer(
        { key: readFileSync(process.env.TLS_KEY), cert: readFileSync(process.env.TLS_CERT) },
        handler,
      )
    : createServer(handler);
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
