import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signGatewatch, signPagerDuty, signSlack } from '../../src/signing.js';
import { SOURCES } from '../../src/sources/registry.js';
import {
  AM_TOKEN,
  type GatewatchWorld,
  PD_SECRET,
  playbook,
  SLACK_SECRET,
  startGatewatchWorld,
  type TestGatewatch,
  WEBHOOK_SECRET,
} from '../helpers/gatewatch.js';
import { refusingUpstream } from '../helpers/upstreams.js';

// Each property is bounded in time as well as in runs, so the suite stays well under a minute in CI.
const LIMIT_MS = 12_000;
const RUNS = 400;

const ROUTES = [...Object.keys(SOURCES).map((s) => `/webhooks/${s}`), '/webhooks/changes', '/slack/events'];

const PD_FIXTURE = JSON.parse(
  readFileSync(new URL('../fixtures/pagerduty/incident.triggered.json', import.meta.url), 'utf8'),
) as unknown;

/** Plausible payloads of each sender, to be mutated: the parser sees almost-valid input, where bugs hide. */
const SHAPES: unknown[] = [
  PD_FIXTURE,
  {
    version: '4',
    status: 'firing',
    groupKey: '{}:{alertname="Http502"}',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'Http502', service: 'fuzz-api' },
        annotations: { summary: '502 Bad Gateway' },
        startsAt: '2024-11-24T10:00:00Z',
        fingerprint: 'abc123',
      },
    ],
  },
  { service: 'fuzz-api', title: '502 Bad Gateway', status: 'triggered', id: 'g-1' },
  { service: 'fuzz-api', kind: 'deploy', ref: 'v1.2.3', summary: 'deploy' },
  { type: 'url_verification', challenge: 'x', token: 't' },
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(at);
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) paths(x, [...at, i], out);
  } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

/** A copy of `base` with the value at one of its paths replaced (or the whole thing, at the root path). */
function mutate(base: unknown, pick: number, value: Json, drop: boolean): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  const all = paths(copy);
  const path = all[pick % all.length]!;
  if (path.length === 0) return value;
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (drop && !Array.isArray(parent)) delete parent[last];
  else parent[last] = value;
  return copy;
}

const printable = fc.stringMatching(/^[\x20-\x7e]{0,80}$/);
const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/x-www-form-urlencoded',
    'text/plain',
    'multipart/form-data; boundary=x',
    '',
  ),
  printable,
);

const body = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc
    .tuple(
      fc.constantFrom(...SHAPES),
      fc.nat(),
      fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
      fc.boolean(),
    )
    .map(([shape, pick, value, drop]) =>
      Buffer.from(JSON.stringify(mutate(shape, pick, value, drop)) ?? 'null'),
    ),
  fc.string({ maxLength: 512 }).map((s) => Buffer.from(s)),
  fc
    .constantFrom('', '{', '[]', 'null', '{"event":null}', '\u0000', '{"a":1}garbage')
    .map((s) => Buffer.from(s)),
);

/** Every authentication scheme at once, valid for this body: the request gets past auth to the parser. */
function signedHeaders(raw: Buffer): Record<string, string> {
  const gw = signGatewatch(raw, WEBHOOK_SECRET);
  const sl = signSlack(raw, SLACK_SECRET);
  return {
    'x-pagerduty-signature': signPagerDuty(raw, PD_SECRET),
    authorization: `Bearer ${AM_TOKEN}`,
    'x-gatewatch-timestamp': gw.timestamp,
    'x-gatewatch-signature': gw.signature,
    'x-slack-request-timestamp': sl.timestamp,
    'x-slack-signature': sl.signature,
  };
}

const randomHeaders = fc.dictionary(
  fc.constantFrom(
    'x-pagerduty-signature',
    'authorization',
    'x-gatewatch-timestamp',
    'x-gatewatch-signature',
    'x-slack-request-timestamp',
    'x-slack-signature',
    'x-webhook-id',
    'x-slack-retry-num',
    'content-encoding',
  ),
  printable,
  { maxKeys: 5 },
);

describe('fuzzing every webhook route against the real server', () => {
  let gw: TestGatewatch;
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 4 });
  const fiveHundreds: string[] = [];

  async function send(path: string, method: string, headers: Record<string, string>, raw: Buffer) {
    const res = await request(`${gw.baseUrl}${path}`, {
      method: method as 'POST',
      headers,
      body: method === 'GET' ? undefined : raw,
      dispatcher: agent,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await res.body.text();
    if (res.statusCode >= 500)
      fiveHundreds.push(
        `${method} ${path} ${res.statusCode} ${text.slice(0, 200)} <- ${raw.toString('utf8', 0, 200)}`,
      );
    return res.statusCode;
  }

  async function healthy(): Promise<boolean> {
    const res = await request(`${gw.baseUrl}/healthz`, { dispatcher: agent, headersTimeout: 5000 });
    await res.body.dump();
    return res.statusCode === 200;
  }

  let world: GatewatchWorld;

  beforeAll(async () => {
    const dead = await refusingUpstream();
    world = await startGatewatchWorld({
      slack: true,
      work: false,
      playbooks: [
        playbook({
          service: 'fuzz-api',
          match: { pagerduty_services: ['PA2P440'], labels: { service: 'fuzz-api' }, title: '502' },
          checks: { upstream: { targets: [dead.url] } },
        }),
      ],
    });
    ({ gw } = world);
    world.later(() => agent.close());
  });

  afterAll(() => world?.stop());

  it('never answers 5xx to random bodies, headers and content types on any route', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES, '/webhooks/no-such-source'),
        fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT'),
        contentType,
        randomHeaders,
        body,
        async (path, method, type, headers, raw) => {
          const status = await send(path, method, { ...headers, 'content-type': type }, raw);
          return status < 500;
        },
      ),
      { numRuns: RUNS, interruptAfterTimeLimit: LIMIT_MS, markInterruptAsFailure: false },
    );
    expect(fiveHundreds).toEqual([]);
    expect(await healthy()).toBe(true);
  });

  it('never answers 5xx to correctly signed, mutated sender payloads, and memory stays flat', async () => {
    const run = () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ROUTES),
          fc.constantFrom('application/json', 'application/x-www-form-urlencoded'),
          body,
          async (path, type, raw) => {
            const status = await send(path, 'POST', { ...signedHeaders(raw), 'content-type': type }, raw);
            return status < 500;
          },
        ),
        { numRuns: RUNS, interruptAfterTimeLimit: LIMIT_MS / 2, markInterruptAsFailure: false },
      );
    await run(); // warm-up: JIT, connection pools and Redis scripts reach their steady size
    const before = process.memoryUsage().rss;
    await run();
    const grown = process.memoryUsage().rss - before;
    expect(fiveHundreds).toEqual([]);
    expect(await healthy()).toBe(true);
    // Generous: this guards against a leak per request (hundreds of requests), not against GC timing.
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });

  it('answers 413 to a body over 1 MiB on every route, and keeps serving', async () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 'a');
    for (const path of ROUTES) {
      const status = await send(
        path,
        'POST',
        { ...signedHeaders(big), 'content-type': 'application/json' },
        big,
      );
      expect([413, 404]).toContain(status);
    }
    expect(fiveHundreds).toEqual([]);
    expect(await healthy()).toBe(true);
  });
});
