/**
 * The baseline for bench/ingest.ts: a bare node:http server doing only what
 * any webhook receiver must (read the body, JSON.parse, check the PagerDuty
 * HMAC, queue.add on BullMQ) and nothing gatewatch adds (dedup, matching,
 * incidents). Run as a child process: PORT, REDIS_URL, REDIS_PREFIX, SECRET.
 */
import { createServer } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { verifyPagerDutySignature } from '../src/signing.js';

const secret = process.env.SECRET ?? '';
const redis = new Redis(process.env.REDIS_URL ?? '', { maxRetriesPerRequest: 1, enableOfflineQueue: false });
const queue = new Queue('bare', { connection: redis, prefix: process.env.REDIS_PREFIX ?? '{bare}' });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const reply = (status: number, answer: unknown) => {
      const text = JSON.stringify(answer);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    try {
      const event = (JSON.parse(body.toString('utf8')) as { event: { data: { id: string } } }).event;
      if (!verifyPagerDutySignature(body, String(req.headers['x-pagerduty-signature'] ?? ''), [secret]))
        return reply(401, { error: 'bad signature' });
      queue.add('diagnose', { incidentId: event.data.id }).then(
        (job) => reply(202, { incident: event.data.id, job: job.id }),
        () => reply(503, { error: 'queue unavailable' }),
      );
    } catch {
      reply(400, { error: 'malformed' });
    }
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
// A clean exit, so `--cpu-prof` can write its profile (bench/ingest.ts CPU_PROF_DIR).
process.on('SIGTERM', () => server.close(() => process.exit(0)));
