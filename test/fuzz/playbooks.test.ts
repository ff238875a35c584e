import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PlaybookProblem, parsePlaybook } from '../../src/playbooks/load.js';

const LIMIT_MS = 15_000;
const FILE = 'playbooks/fuzzed.yaml';
const VALID = readFileSync(new URL('../../playbooks/checkout-api.yaml', import.meta.url), 'utf8');

/** Fails with the offending text when a result breaks the loader's promise; else true. */
function wellFormed(text: string, result: ReturnType<typeof parsePlaybook>): true {
  const lines = text.split(/\r\n|\r|\n/).length;
  const bad = (why: string, p?: PlaybookProblem) => {
    throw new Error(`${why}: ${JSON.stringify(p)}\n--- text ---\n${text}`);
  };
  if (result.playbook && result.problems.length > 0) bad('a playbook and problems at once');
  if (!result.playbook && result.problems.length === 0) bad('neither a playbook nor a problem');
  for (const p of result.problems) {
    if (p.file !== FILE) bad('problem without its file', p);
    if (!Number.isInteger(p.line) || p.line < 1 || p.line > lines + 1) bad('line out of range', p);
    if (!Number.isInteger(p.column) || p.column < 1) bad('column out of range', p);
    if (typeof p.field !== 'string' || p.field.length === 0) bad('problem without a field', p);
    if (typeof p.message !== 'string' || p.message.length === 0) bad('problem without a message', p);
  }
  return true;
}

const TOKENS = [
  'service:',
  'checks:',
  'upstream:',
  'targets:',
  'match:',
  'timeouts:',
  'check_ms:',
  'slack:',
  '- ',
  '  ',
  '    ',
  '\t',
  ':',
  '{',
  '}',
  '[',
  ']',
  ',',
  '"',
  "'",
  '#',
  '&a',
  '*a',
  '!!str',
  '|',
  '>',
  '---',
  '...',
  '?',
  '%YAML 1.2',
  'null',
  '~',
  '1e400',
  '-1',
  '0x1f',
  'http://127.0.0.1:1/healthz',
  '\n',
  '\n',
  '\n',
  'ä',
  '\u0000',
];

const yamlish = fc.array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 6 })), {
  maxLength: 80,
});

type Edit =
  | { kind: 'delete'; at: number }
  | { kind: 'duplicate'; at: number }
  | { kind: 'indent'; at: number; by: number }
  | { kind: 'replace-value'; at: number; with: string }
  | { kind: 'insert'; at: number; line: string }
  | { kind: 'chars'; at: number; pos: number; with: string };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({
    kind: fc.constant('replace-value' as const),
    at: fc.nat(),
    with: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 12 }), fc.jsonValue().map(String)),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    line: fc.oneof(fc.constantFrom('  typo_field: 1', 'unknown: x', '  - 7', 'checks: []'), fc.string()),
  }),
  fc.record({
    kind: fc.constant('chars' as const),
    at: fc.nat(),
    pos: fc.nat(),
    with: fc.string({ maxLength: 3 }),
  }),
);

function apply(text: string, edits: Edit[]): string {
  const lines = text.split('\n');
  for (const e of edits) {
    const i = e.at % Math.max(lines.length, 1);
    const line = lines[i] ?? '';
    switch (e.kind) {
      case 'delete':
        lines.splice(i, 1);
        break;
      case 'duplicate':
        lines.splice(i, 0, line);
        break;
      case 'indent':
        lines[i] = e.by >= 0 ? ' '.repeat(e.by) + line : line.replace(new RegExp(`^ {0,${-e.by}}`), '');
        break;
      case 'replace-value': {
        const colon = line.indexOf(':');
        lines[i] = colon >= 0 ? `${line.slice(0, colon + 1)} ${e.with}` : e.with;
        break;
      }
      case 'insert':
        lines.splice(i, 0, e.line);
        break;
      case 'chars': {
        const p = e.pos % (line.length + 1);
        lines[i] = line.slice(0, p) + e.with + line.slice(p + 1);
        break;
      }
    }
  }
  return lines.join('\n');
}

describe('the playbook loader under fuzzing', () => {
  it('the unmutated playbook is valid (the mutations start from a good file)', () => {
    const res = parsePlaybook(VALID, FILE);
    expect(res.problems).toEqual([]);
    expect(res.playbook?.service).toBe('checkout-api');
  });

  it('never throws on random YAML-ish text; every problem names file, line and field', () => {
    fc.assert(
      fc.property(yamlish, (parts) => {
        const text = parts.join('');
        return wellFormed(text, parsePlaybook(text, FILE));
      }),
      { numRuns: 3000, interruptAfterTimeLimit: LIMIT_MS, markInterruptAsFailure: false },
    );
  });

  it('never throws on random edits of a valid playbook; every problem names file, line and field', () => {
    let invalid = 0;
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        const text = apply(VALID, edits);
        const res = parsePlaybook(text, FILE);
        if (!res.playbook) invalid += 1;
        return wellFormed(text, res);
      }),
      { numRuns: 3000, interruptAfterTimeLimit: LIMIT_MS, markInterruptAsFailure: false },
    );
    // The mutations must reach the error paths, or this property proves nothing.
    expect(invalid).toBeGreaterThan(50);
  });

  it('points an unknown field at its own line', () => {
    const lines = VALID.split('\n');
    const at = lines.findIndex((l) => l.startsWith('  upstream:'));
    lines.splice(at + 1, 0, '    tragets: [http://127.0.0.1:1/]');
    const res = parsePlaybook(lines.join('\n'), FILE);
    expect(res.problems).toContainEqual(
      expect.objectContaining({ file: FILE, line: at + 2, field: 'checks.upstream.tragets' }),
    );
  });
});
