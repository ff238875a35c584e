import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewatchError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { PagerDutyClient } from '../../src/pagerduty/client.js';
import { FakePagerDuty } from '../helpers/fake-pagerduty.js';
import { freePort } from '../helpers/ports.js';

const TOKEN = 'u+secret-pd-token';

describe('PagerDuty REST client against a fake PagerDuty over HTTP', () => {
  let pd: FakePagerDuty;
  const client = (extra: Partial<ConstructorParameters<typeof PagerDutyClient>[0]> = {}) =>
    new PagerDutyClient({
      token: TOKEN,
      baseUrl: pd.url,
      from: 'oncall@example.com',
      log: silentLogger(),
      baseDelayMs: 20,
      ...extra,
    });

  beforeAll(async () => {
    pd = await new FakePagerDuty(TOKEN, 'oncall@example.com').start();
    for (const id of ['PACK001', 'PNOTE01', 'P429', 'P5XX', 'PDROP', 'PFAIL']) pd.addIncident(id);
  });

  afterAll(async () => {
    await pd?.stop();
  });

  it('acknowledges an incident with the documented request', async () => {
    expect(await client().acknowledge('PACK001')).toEqual({ id: 'PACK001', status: 'acknowledged' });
    const call = pd.calls.at(-1)!;
    expect(call.method).toBe('PUT');
    expect(call.path).toBe('/incidents/PACK001');
    expect(call.headers.accept).toBe('application/vnd.pagerduty+json;version=2');
    expect(call.headers.from).toBe('oncall@example.com');
    expect(call.body).toEqual({ incident: { type: 'incident_reference', status: 'acknowledged' } });
  });

  it('adds a note', async () => {
    const note = await client().addNote('PNOTE01', 'FIX — checkout-api: every upstream target refuses');
    expect(note.id).toMatch(/^PNOTE/);
    expect(pd.incidents.get('PNOTE01')!.notes[0]!.content).toBe(
      'FIX — checkout-api: every upstream target refuses',
    );
  });

  it('waits out a 429 as Retry-After says, then succeeds', async () => {
    pd.failNext({ status: 429, retryAfter: 1 });
    const before = pd.calls.length;
    await client().addNote('P429', 'after a rate limit');
    const calls = pd.calls.slice(before);
    expect(calls).toHaveLength(2);
    // Retry-After: 1 means at least about a second between the attempts.
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(900);
    expect(pd.incidents.get('P429')!.notes).toHaveLength(1);
  });

  it('retries 5xx and a cut connection with backoff', async () => {
    pd.failNext({ status: 502 }, { status: 503 });
    await client().addNote('P5XX', 'after two 5xx');
    pd.failNext({ drop: true });
    await client().acknowledge('PDROP');
    expect(pd.incidents.get('P5XX')!.notes).toHaveLength(1);
    expect(pd.incidents.get('PDROP')!.status).toBe('acknowledged');
  });

  it('gives up after its attempts with a retryable PAGERDUTY_API error', async () => {
    pd.failNext({ status: 500 }, { status: 500 }, { status: 500 });
    const err = await client({ attempts: 3 })
      .addNote('PFAIL', 'never')
      .then(
        () => {
          throw new Error('expected a failure');
        },
        (e: unknown) => e as GatewatchError,
      );
    expect(err).toBeInstanceOf(GatewatchError);
    expect(err).toMatchObject({ code: 'PAGERDUTY_API', retryable: true });
    expect(pd.incidents.get('PFAIL')!.notes).toHaveLength(0);
  });

  it('a refusal is final, says why, and never shows the token', async () => {
    const wrongToken = await client({ token: 'wrong-token-value' })
      .acknowledge('PACK001')
      .then(
        () => {
          throw new Error('expected a failure');
        },
        (e: unknown) => e as GatewatchError,
      );
    expect(wrongToken).toMatchObject({ code: 'PAGERDUTY_API', retryable: false });
    expect(wrongToken.message).toContain('HTTP 401: Unauthorized');
    expect(wrongToken.message).not.toContain('wrong-token-value');

    const noFrom = await client({ from: undefined })
      .addNote('PNOTE01', 'x')
      .then(
        () => {
          throw new Error('expected a failure');
        },
        (e: unknown) => e as GatewatchError,
      );
    expect(noFrom.message).toContain('Requester User Not Found');
    expect(noFrom.message).not.toContain(TOKEN);

    const missing = await client()
      .acknowledge('PNOSUCH')
      .then(
        () => {
          throw new Error('expected a failure');
        },
        (e: unknown) => e as GatewatchError,
      );
    expect(missing).toMatchObject({ code: 'PAGERDUTY_API', retryable: false });
    expect(missing.message).toContain('404');
  });

  it('a PagerDuty that is not there fails as retryable after its attempts', async () => {
    const port = await freePort();
    const err = await client({ baseUrl: `http://127.0.0.1:${port}/`, attempts: 2 })
      .acknowledge('PACK001')
      .then(
        () => {
          throw new Error('expected a failure');
        },
        (e: unknown) => e as GatewatchError,
      );
    expect(err).toMatchObject({ code: 'PAGERDUTY_API', retryable: true });
    expect(err.message).not.toContain(TOKEN);
  });

  it('cuts an endless answer at 1 MiB: a clear error, no retry, nothing held beyond the cap', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(201, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (res.write(chunk)) if (res.destroyed) return;
        res.once('drain', pump);
      };
      res.on('error', () => {});
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const err = await client({ baseUrl: `http://127.0.0.1:${port}/` })
        .addNote('PENDLESS', 'note')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GatewatchError);
      expect((err as GatewatchError).retryable).toBe(false);
      expect((err as GatewatchError).message).toContain('more than 1 MiB');
      expect(requests).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
