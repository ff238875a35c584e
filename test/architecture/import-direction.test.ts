// The layout's one rule, checked: data flows sources → ingest → queue → (checks →
// verdict) → notify (slack, pagerduty), with digest beside. A folder imports only
// the folders this table allows; entry points (cli, http, demo, bin, main.ts)
// assemble everything and may import anything.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Shared ground every folder may stand on; it imports no stage (metrics only knows the verdict's shape). */
const FOUNDATION = [
  'errors',
  'log',
  'config',
  'zones',
  'redis',
  'metrics',
  'playbooks',
  'shutdown',
  'store',
  'signing',
  'inbound',
  'bounded-body',
];
/** Entry points assemble everything (main.ts is the one place objects are built): they may import anything. */
const ENTRY_POINTS = ['bin', 'cli', 'demo', 'http', 'main'];

/**
 * Each stage and the stages it may import besides the foundation. A stage knows
 * the shapes it receives (verdict reads the checks' evidence, notify formats the
 * verdict) and calls the stages it drives (ingest enqueues, the queue runs checks
 * and the verdict); it never reaches back: notify gets what it must trigger
 * (enqueueing a re-run) as an interface built in main.ts.
 */
const ALLOWED: Record<string, string[]> = {
  sources: [],
  ingest: ['sources', 'queue'],
  queue: ['checks', 'verdict'],
  checks: [],
  verdict: ['checks'],
  // notify/ composes the two notifiers into the one the queue is handed.
  notify: ['slack', 'pagerduty', 'verdict'],
  slack: ['verdict', 'checks', 'pagerduty'],
  pagerduty: ['verdict'],
  digest: ['verdict', 'slack'],
  // The foundation stands on nothing above it, but knows the shapes it keeps or counts.
  metrics: ['verdict'],
  store: ['verdict'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** `src/slack/thread.ts` → `slack`; `src/main.ts` → `main`. */
function folderOf(path: string): string {
  const [first = '', ...rest] = relative(SRC, path).split('/');
  return rest.length ? first : first.replace(/\.[jt]s$/, '');
}

function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) =>
    resolve(dirname(path), m[1]!),
  );
}

describe('import direction', () => {
  const edges = files(SRC).flatMap((file) =>
    importsOf(file).map((target) => ({
      file: relative(SRC, file),
      from: folderOf(file),
      to: folderOf(target),
    })),
  );

  it('every folder of src/ is a stage, the foundation or an entry point', () => {
    const known = new Set([...Object.keys(ALLOWED), ...FOUNDATION, ...ENTRY_POINTS]);
    expect([...new Set(edges.map((e) => e.from))].filter((f) => !known.has(f))).toEqual([]);
  });

  it('no folder imports one the flow does not allow it', () => {
    const wrong = edges.filter(
      (e) =>
        e.from !== e.to &&
        !ENTRY_POINTS.includes(e.from) &&
        !FOUNDATION.includes(e.to) &&
        !(ALLOWED[e.from] ?? []).includes(e.to),
    );
    expect(wrong.map((e) => `${e.file} imports ${e.to}/`)).toEqual([]);
  });

  it('sees an import against the flow when there is one (the check itself can fail)', () => {
    const probe = resolve(SRC, 'slack', 'probe.ts');
    const target = resolve(dirname(probe), '../queue/jobs.js');
    expect({ from: folderOf(probe), to: folderOf(target) }).toEqual({ from: 'slack', to: 'queue' });
    expect(ALLOWED.slack).not.toContain('queue');
  });
});
