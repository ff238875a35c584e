// A name that resolves to several instances can hide a dead one among good ones. Here the name is
// real to the resolver: `gatewatch check` runs in a mount namespace of its own whose /etc/hosts maps
// app.gw.test to 127.0.0.1 and 127.0.0.2 (the machine's /etc/hosts is untouched). Needs root for
// `unshare -m` and `mount --bind` (CI runs as root).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../helpers/binaries.js';

const run = promisify(execFile);

interface AddressVerdict {
  cause: string;
  recommendation: string;
  confidence: number;
  summary: string;
  actions: string[];
  checks: {
    name: string;
    evidence: { addresses: string[]; by_address: { address: string; outcome: string }[] }[];
  }[];
}

function listen(host: string, port = 0): Promise<Server> {
  const server = createServer((_, res) => res.end('ok'));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

describe('gatewatch check: one address behind a name refuses', () => {
  let dir: string;
  const servers: Server[] = [];
  let port = 0;

  beforeAll(async () => {
    requireBinary('unshare');
    dir = mkdtempSync(join(tmpdir(), 'gw-addresses-'));
    writeFileSync(join(dir, 'hosts'), '127.0.0.1 localhost\n127.0.0.1 app.gw.test\n127.0.0.2 app.gw.test\n');
    const first = await listen('127.0.0.1');
    servers.push(first);
    port = (first.address() as AddressInfo).port;
    const playbooks = join(dir, 'playbooks');
    mkdirSync(playbooks);
    writeFileSync(
      join(playbooks, 'app.yaml'),
      `service: app\nchecks:\n  upstream:\n    targets: [http://app.gw.test:${port}/healthz]\n    timeout_ms: 1000\n    probes: 2\n`,
    );
  });

  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `gatewatch check app --json` with app.gw.test resolving to both addresses. */
  async function check(): Promise<AddressVerdict> {
    const { stdout } = await run(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        'mount --bind "$1" /etc/hosts && exec "$2" bin/gatewatch.js check app --playbooks "$3" --json',
        'sh',
        join(dir, 'hosts'),
        process.execPath,
        join(dir, 'playbooks'),
      ],
      { timeout: 30_000 },
    );
    return JSON.parse(stdout) as AddressVerdict;
  }

  it('names the dead address and the name it hides behind: upstream_partial, fix', async () => {
    const v = await check();
    const evidence = v.checks.find((c) => c.name === 'upstream')!.evidence[0]!;
    expect(evidence.addresses).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(evidence.by_address.map((a) => [a.address, a.outcome])).toEqual([
      ['127.0.0.1', 'ok'],
      ['127.0.0.2', 'refused'],
    ]);
    expect(v).toMatchObject({ cause: 'upstream_partial', recommendation: 'fix' });
    // Only gatewatch's own probes, no proxy evidence that the dead address gets traffic: not certain.
    expect(v.confidence).toBeLessThanOrEqual(0.75);
    expect(v.summary).toContain(`127.0.0.2:${port}, an address of app.gw.test:${port}`);
    expect(v.actions.join(' ')).toContain('out of the DNS records of app.gw.test');
  });

  it('once the second instance answers too, nothing is dead', async () => {
    servers.push(await listen('127.0.0.2', port));
    const v = await check();
    const evidence = v.checks.find((c) => c.name === 'upstream')!.evidence[0]!;
    expect(evidence.by_address.map((a) => a.outcome)).toEqual(['ok', 'ok']);
    expect(v.cause).not.toBe('upstream_partial');
  });
});
