import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChangeEvidence, changesCheck } from '../../src/checks/changes/check.js';
import type { CheckContext, CheckOutput } from '../../src/checks/types.js';
import { silentLogger } from '../../src/log.js';
import { ChangesCheckSchema } from '../../src/playbooks/schema.js';
import { ChangeEventStore } from '../../src/store/change-events.js';
import { requireBinary } from '../helpers/binaries.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';

const MIN = 60_000;
/** A fixed onset in the past, so commit dates are exact and the test never depends on today. */
const ONSET = Date.UTC(2024, 10, 24, 12, 0, 0);

function run(
  config: Record<string, unknown>,
  ctx: Partial<CheckContext> = {},
): Promise<CheckOutput<ChangeEvidence>> {
  return changesCheck.run(ChangesCheckSchema.parse(config), {
    service: 'checkout-api',
    signal: new AbortController().signal,
    log: silentLogger(),
    env: {},
    now: Date.now,
    onsetAt: ONSET,
    timeoutMs: 5000,
    ...ctx,
  });
}

describe('changes check: git history', () => {
  let repo: string;
  const sha: Record<string, string> = {};

  const commit = (name: string, atMs: number, files: Record<string, string>, author = 'Alice Admin') => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(repo, path)), { recursive: true });
      writeFileSync(join(repo, path), text);
    }
    const date = `@${Math.floor(atMs / 1000)} +0000`;
    const env = { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
    execFileSync('git', ['-C', repo, 'add', '-A'], { env });
    execFileSync(
      'git',
      [
        '-C',
        repo,
        '-c',
        `user.name=${author}`,
        '-c',
        'user.email=dev@example.com',
        'commit',
        '-q',
        '-m',
        name,
      ],
      { env },
    );
    sha[name] = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  };

  beforeAll(() => {
    requireBinary('git');
    repo = mkdtempSync(join(tmpdir(), 'gw-git-'));
    execFileSync('git', ['init', '-q', repo]);
    commit('nginx: initial site', ONSET - 180 * MIN, { 'nginx/site.conf': 'server {}\n' });
    commit(
      'checkout: deploy v2',
      ONSET - 40 * MIN,
      { 'services/checkout/app.js': 'v2\nmore\n' },
      'Bob Builder',
    );
    commit('nginx: lower proxy_read_timeout', ONSET - 20 * MIN, {
      'nginx/checkout.conf': 'proxy_read_timeout 1s;\n',
    });
    commit('docs: typo', ONSET - 10 * MIN, { 'docs/readme.md': 'hello\n' });
    commit('checkout: deploy v3', ONSET + 10 * MIN, { 'services/checkout/app.js': 'v3\n' });
  });
  afterAll(() => {
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('reports commits on watched paths inside the window, newest first, proxy config as config', async () => {
    const out = await run({ window_minutes: 60, git: { repo, paths: ['nginx/', 'services/checkout/'] } });
    expect(out.status).toBe('warn');
    expect(out.evidence.map((e) => e.ref)).toEqual([
      sha['nginx: lower proxy_read_timeout']!.slice(0, 12),
      sha['checkout: deploy v2']!.slice(0, 12),
    ]);
    const [config, deploy] = out.evidence;
    expect(config).toMatchObject({
      kind: 'config',
      source: 'git',
      summary: 'nginx: lower proxy_read_timeout',
      author: 'Alice Admin',
      at: new Date(ONSET - 20 * MIN).toISOString(),
      minutes_before_onset: 20,
      paths: ['nginx/checkout.conf'],
      stat: { files: 1, insertions: 1, deletions: 0 },
    });
    expect(deploy).toMatchObject({
      kind: 'deploy',
      author: 'Bob Builder',
      minutes_before_onset: 40,
      paths: ['services/checkout/app.js'],
      stat: { files: 1, insertions: 2, deletions: 0 },
    });
    expect(out.summary).toMatch(/2 changes in the 60 min before onset/);
  });

  it('narrows to the window and to the paths', async () => {
    const narrow = await run({ window_minutes: 30, git: { repo, paths: ['services/checkout/'] } });
    expect(narrow.status).toBe('ok');
    expect(narrow.evidence).toEqual([]);
    const everything = await run({ window_minutes: 15, git: { repo, paths: [] } });
    expect(everything.evidence.map((e) => e.summary)).toEqual(['docs: typo']);
    expect(everything.evidence[0]!.kind).toBe('deploy');
  });

  it('says so when the repository cannot be read', async () => {
    const out = await run({ git: { repo: join(repo, 'does-not-exist'), paths: [] } });
    expect(out.status).toBe('error');
    expect(out.summary).toMatch(/git log in .*does-not-exist failed/);
    expect(out.evidence).toEqual([]);
  });
});

describe('changes check: watched files', () => {
  let redis: PrivateRedis;
  let client: Redis;
  let dir: string;
  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    dir = mkdtempSync(join(tmpdir(), 'gw-files-'));
  });
  afterAll(async () => {
    await redis?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const setMtime = (path: string, ms: number) => utimesSync(path, ms / 1000, ms / 1000);

  it('reports a file modified inside the window, and not one modified before it', async () => {
    const fresh = join(dir, 'fresh.conf');
    const old = join(dir, 'old.conf');
    writeFileSync(fresh, 'upstream a;\n');
    writeFileSync(old, 'upstream b;\n');
    setMtime(fresh, ONSET - 5 * MIN);
    setMtime(old, ONSET - 5 * 24 * 60 * MIN);
    const out = await run({ files: [fresh, old] });
    expect(out.status).toBe('warn');
    expect(out.evidence).toHaveLength(1);
    expect(out.evidence[0]).toMatchObject({
      kind: 'config',
      source: 'file',
      paths: [fresh],
      at: new Date(ONSET - 5 * MIN).toISOString(),
      minutes_before_onset: 5,
      author: null,
    });
    expect(out.evidence[0]!.ref).toMatch(/^sha256:[0-9a-f]{12}$/);
  });

  it('catches a content change that kept the old mtime, by the hash remembered in Redis', async () => {
    const path = join(dir, 'copied.conf');
    const oldMtime = Date.now() - 10 * 24 * 60 * MIN;
    writeFileSync(path, 'proxy_pass http://10.0.1.11:8080;\n');
    setMtime(path, oldMtime);
    const prefix = `{gwtest-${randomBytes(4).toString('hex')}}`;
    const ctx = () => ({ redis: client, keyPrefix: prefix, onsetAt: Date.now() });

    const first = await run({ files: [path] }, ctx());
    expect(first.status).toBe('ok');
    expect(first.evidence).toEqual([]);
    const unchanged = await run({ files: [path] }, ctx());
    expect(unchanged.evidence).toEqual([]);

    // As `cp -p` or rsync -a would: new content, old modification time.
    writeFileSync(path, 'proxy_pass http://10.0.1.99:8080;\n');
    setMtime(path, oldMtime);
    const changed = await run({ files: [path] }, ctx());
    expect(changed.status).toBe('warn');
    expect(changed.evidence).toHaveLength(1);
    expect(changed.evidence[0]!.summary).toMatch(/content changed \(was sha256:[0-9a-f]{12}\)/);
    expect(changed.evidence[0]!.source).toBe('file');

    // A second diagnosis of the same incident still sees it.
    const again = await run({ files: [path] }, ctx());
    expect(again.evidence.map((e) => e.ref)).toEqual(changed.evidence.map((e) => e.ref));
    // Without memory there is nothing to compare with.
    const forgetful = await run({ files: [path] }, { onsetAt: Date.now() });
    expect(forgetful.evidence).toEqual([]);
  });

  it('reports a missing file as a problem, not a change', async () => {
    const out = await run({ files: [join(dir, 'nope.conf')] });
    expect(out.status).toBe('error');
    expect(out.summary).toContain('ENOENT');
    expect(out.evidence).toEqual([]);
  });
});

describe('changes check: deploy events from the store', () => {
  let redis: PrivateRedis;
  let store: ChangeEventStore;
  beforeAll(async () => {
    redis = await startRedis();
    store = new ChangeEventStore(
      redis.client(),
      `{gwtest-${randomBytes(4).toString('hex')}}`,
      30,
      () => ONSET,
    );
    await store.record({
      service: 'checkout-api',
      kind: 'deploy',
      ref: 'v2.4.1',
      summary: 'checkout v2.4.1',
      author: 'ci',
      at: new Date(ONSET - 25 * MIN).toISOString(),
    });
    await store.record({
      service: 'checkout-api',
      kind: 'config',
      ref: 'cfg-1',
      summary: 'old change',
      at: new Date(ONSET - 120 * MIN).toISOString(),
    });
    await store.record({
      service: 'search-web',
      kind: 'deploy',
      ref: 'other',
      summary: 'another service',
      at: new Date(ONSET - 5 * MIN).toISOString(),
    });
  });
  afterAll(async () => {
    await redis?.destroy();
  });

  it("reports this service's events inside the window", async () => {
    const out = await run({ deploys: true }, { changeEvents: store });
    expect(out.status).toBe('warn');
    expect(out.evidence).toEqual([
      {
        kind: 'deploy',
        ref: 'v2.4.1',
        summary: 'checkout v2.4.1',
        author: 'ci',
        at: new Date(ONSET - 25 * MIN).toISOString(),
        minutes_before_onset: 25,
        source: 'event',
      },
    ]);
  });

  it('merges events with git and files into one newest-first list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-mixed-'));
    try {
      const file = join(dir, 'edge.conf');
      writeFileSync(file, 'x\n');
      utimesSync(file, (ONSET - 3 * MIN) / 1000, (ONSET - 3 * MIN) / 1000);
      const out = await run({ deploys: true, files: [file] }, { changeEvents: store });
      expect(out.evidence.map((e) => e.source)).toEqual(['file', 'event']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps events for the retention only, trimming on write', async () => {
    const service = `svc-${randomBytes(3).toString('hex')}`;
    let now = ONSET;
    const trimming = new ChangeEventStore(
      redis.client(),
      `{gwtest-${randomBytes(4).toString('hex')}}`,
      30,
      () => now,
    );
    await trimming.record({
      service,
      kind: 'deploy',
      ref: 'ancient',
      summary: 'a',
      at: new Date(ONSET).toISOString(),
    });
    now = ONSET + 31 * 24 * 60 * MIN;
    await trimming.record({
      service,
      kind: 'deploy',
      ref: 'recent',
      summary: 'b',
      at: new Date(now).toISOString(),
    });
    const all = await trimming.recent(service, 0, now);
    expect(all.map((e) => e.ref)).toEqual(['recent']);
    // Already past the retention: not stored at all.
    expect(
      await trimming.record({
        service,
        kind: 'deploy',
        ref: 'late',
        summary: 'c',
        at: new Date(ONSET).toISOString(),
      }),
    ).toBeNull();
    expect((await trimming.recent(service, 0, now)).map((e) => e.ref)).toEqual(['recent']);
  });

  it('without a store (gatewatch check, no Redis) says so and stays ok', async () => {
    const out = await run({ deploys: true });
    expect(out.status).toBe('ok');
    expect(out.summary).toMatch(/deploy events are not available/);
  });

  it('is skipped when nothing is configured to look at', async () => {
    const out = await run({});
    expect(out.status).toBe('skipped');
  });
});
