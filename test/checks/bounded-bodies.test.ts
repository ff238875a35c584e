import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadEvidence, loadCheck } from '../../src/checks/load/check.js';
import type { CheckOutput } from '../../src/checks/types.js';
import { LoadCheckSchema } from '../../src/playbooks/schema.js';
import { checkContext } from '../helpers/check-context.js';
import { waitFor } from '../helpers/ports.js';

const MiB = 1024 * 1024;

function runLoad(config: unknown): Promise<CheckOutput<LoadEvidence>> {
  return loadCheck.run(LoadCheckSchema.parse(config), checkContext({ timeoutMs: 20_000 }));
}

/** What one endless response did: bytes written before the reader hung up. */
interface Endless {
  written: number;
  closed: boolean;
}

/**
 * A server whose answers never end (or are merely huge): a valid page first, then
 * padding for as long as the reader reads. A bounded reader hangs up; an unbounded one
 * reads until its timeout, its memory, or forever.
 */
function hostileServer() {
  const endless: Endless[] = [];
  let scrapes = 0;
  const stream = (res: ServerResponse, head: string, pad: string) => {
    const state: Endless = { written: 0, closed: false };
    endless.push(state);
    res.on('close', () => {
      state.closed = true;
    });
    const chunk = pad.repeat(Math.ceil((64 * 1024) / pad.length));
    const pump = () => {
      while (!state.closed && state.written < 256 * MiB) {
        state.written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    state.written += head.length;
    res.write(head);
    pump();
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/metrics') {
      scrapes += 1;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      const head = [
        '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
        '# TYPE process_cpu_seconds_total counter',
        `process_cpu_seconds_total ${10 + scrapes * 0.05}`,
        '# TYPE process_resident_memory_bytes gauge',
        'process_resident_memory_bytes 52428800',
        '',
      ].join('\n');
      return stream(res, head, '# padding that never ends, as a broken exporter might send\n');
    }
    if (req.url === '/nginx_status') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const head =
        'Active connections: 2 \nserver accepts handled requests\n 10 10 20 \nReading: 0 Writing: 1 Waiting: 1 \n';
      return stream(res, head, 'x');
    }
    if (req.url === '/api/v1/query') {
      // A real vector answer, just very large: 40 000 series with long labels (about 8 MiB).
      const result = Array.from({ length: 40_000 }, (_, i) => ({
        metric: {
          instance: `10.0.${i >> 8}.${i & 255}:9100`,
          job: 'node',
          pod: `checkout-${'x'.repeat(120)}-${i}`,
        },
        value: [1732450000, '0.5'],
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
    }
    res.writeHead(404).end();
  });
  return { server, endless };
}

describe('load endpoints that answer without end', () => {
  let base: string;
  let hostile: ReturnType<typeof hostileServer>;

  beforeAll(async () => {
    hostile = hostileServer();
    await new Promise<void>((resolve) => hostile.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(hostile.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    hostile.server.closeAllConnections();
    await new Promise((resolve) => hostile.server.close(resolve));
  });

  it('reads a scrape up to 4 MiB, hangs up, and says in the evidence that it was cut', async () => {
    const before = hostile.endless.length;
    const out = await runLoad({ scrape: [`${base}/metrics`], sample_interval_ms: 200 });
    const [row] = out.evidence;
    expect(row?.error).toBeNull();
    expect(row?.truncated_at_bytes).toBe(4 * MiB);
    expect(row?.memory_bytes).toBe(52428800);
    expect(out.summary).toMatch(/cut at 4 MiB/);
    const mine = hostile.endless.slice(before);
    expect(mine).toHaveLength(2);
    await waitFor(() => mine.every((m) => m.closed), 10_000, 'both scrapes to be hung up on');
    // The reader stopped near its cap: the server's socket buffers hold a little more, never the 256 MiB.
    for (const m of mine) expect(m.written).toBeLessThan(32 * MiB);
  });

  it('reads a stub_status page up to 64 KiB', async () => {
    const out = await runLoad({ stub_status: [`${base}/nginx_status`], sample_interval_ms: 200 });
    const [row] = out.evidence;
    expect(row?.truncated_at_bytes).toBe(64 * 1024);
    expect(row?.connections).toMatchObject({ active: 2, reading: 0, writing: 1, waiting: 1 });
  });

  it('refuses a Prometheus answer over 4 MiB rather than parsing it, and says why', async () => {
    const out = await runLoad({ prometheus: base });
    expect(out.status).toBe('error');
    const [row] = out.evidence;
    expect(row?.error).toMatch(/over 4 MiB/);
  });
});
