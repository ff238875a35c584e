import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { JobQueue } from '../../src/queue/jobs.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';

/** A pino destination that keeps every line, parsed. */
function captured() {
  const lines: string[] = [];
  return {
    stream: { write: (s: string) => void lines.push(...s.split('\n').filter(Boolean)) },
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function connection(port: number): Redis {
  // As main.ts makes them for BullMQ: no per-request retry limit; reconnects quickly.
  return new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null, retryStrategy: () => 100 });
}

describe('queue errors', () => {
  let redis: PrivateRedis;
  const password = 'queue-test-pw-7Q2';

  beforeAll(async () => {
    redis = await startRedis();
    // Set after start, so the helper's own readiness probe needs no password.
    await redis.client().config('SET', 'requirepass', password);
  });

  afterAll(async () => {
    await redis?.destroy();
  });

  it('logs an error that is not about the connection (a Redis asking for a password)', async () => {
    const out = captured();
    const conn = connection(redis.port);
    conn.on('error', () => {});
    const jobs = new JobQueue(
      conn,
      '{qerr}',
      `auth-${process.pid}`,
      createLogger({ destination: out.stream }),
    );
    try {
      const logged = await waitFor(
        () => out.records().find((r) => r.msg === 'queue error'),
        15_000,
        'the queue error in the log',
      );
      expect(String(logged.err)).toMatch(/NOAUTH|Authentication required/i);
      expect(logged.level).toBe(50);
      // The password is the server's, not ours, but nothing secret-looking may be logged either way.
      expect(JSON.stringify(out.records())).not.toContain(password);
    } finally {
      await jobs.close().catch(() => {});
      conn.disconnect();
    }
  });

  it('keeps connection errors off the log: the calls that fail report them', async () => {
    const out = captured();
    const closed = await freePort();
    const conn = connection(closed);
    conn.on('error', () => {});
    const jobs = new JobQueue(
      conn,
      '{qerr}',
      `refused-${process.pid}`,
      createLogger({ destination: out.stream }),
    );
    const seen: Error[] = [];
    jobs.queue.on('error', (err) => seen.push(err));
    try {
      // The positive signal: the queue has met the refused connection at least twice.
      await waitFor(() => seen.length >= 2, 15_000, 'the queue to meet the refused connection');
      expect(seen.some((e) => /ECONNREFUSED/.test(`${(e as NodeJS.ErrnoException).code} ${e.message}`))).toBe(
        true,
      );
      expect(out.records().filter((r) => r.msg === 'queue error')).toEqual([]);
    } finally {
      conn.disconnect();
      await jobs.close().catch(() => {});
    }
  });
});
