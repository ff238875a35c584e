import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../../src/', import.meta.url).pathname;

/**
 * Data flows one way: sources → ingest → queue → (checks → verdict) → notify (slack, pagerduty),
 * digest beside, store below them all. A folder never imports one it hands work to or takes work from
 * sideways; the queue is handed its notifier and Slack its jobs interface by main.ts instead.
 */
const FORBIDDEN: Record<string, string[]> = {
  store: ['ingest', 'queue', 'slack', 'notify', 'digest', 'http', 'sources', 'checks', 'pagerduty'],
  ingest: ['queue', 'slack', 'notify', 'digest', 'http', 'pagerduty'],
  queue: ['ingest', 'slack', 'notify', 'digest', 'http', 'pagerduty', 'sources'],
  slack: ['queue', 'notify', 'digest', 'http'],
  digest: ['ingest', 'queue', 'notify', 'http'],
  pagerduty: ['ingest', 'queue', 'slack', 'notify', 'digest', 'store'],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every `from '../FOLDER/…'` of the file, as the folder it reaches. */
function importedFolders(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/from '\.\.\/([a-z-]+)\//g)].map((m) => m[1]!);
}

describe('one direction of flow between folders', () => {
  for (const [folder, forbidden] of Object.entries(FORBIDDEN))
    it(`src/${folder}/ imports none of ${forbidden.join(', ')}`, () => {
      const upward = files(join(SRC, folder)).flatMap((f) =>
        importedFolders(f)
          .filter((to) => forbidden.includes(to))
          .map((to) => `${relative(SRC, f)} → ${to}/`),
      );
      expect(upward).toEqual([]);
    });

  it('sees an upward import when there is one (the check itself can fail)', () => {
    const probe = join(SRC, 'queue', 'worker.ts');
    expect(importedFolders(probe)).not.toContain('slack');
    expect([...`from '../slack/thread.js'`.matchAll(/from '\.\.\/([a-z-]+)\//g)].map((m) => m[1])).toEqual([
      'slack',
    ]);
  });
});
