import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../src/playbooks/load.js';
import type { Playbook } from '../../src/playbooks/schema.js';
import { matchPlaybook } from '../../src/sources/match.js';
import { SOURCES } from '../../src/sources/registry.js';
import type { InboundRequest } from '../../src/sources/types.js';

/** The budget: matching one webhook's alerts may take this much CPU, whatever the title and pattern. */
const CPU_BUDGET_MS = 100;
/** The largest body a webhook accepts (the contract's 413 limit). */
const MAX_BODY = 1024 * 1024;
const LIMIT_MS = 20_000;

const FIRING = JSON.parse(
  readFileSync(new URL('../fixtures/alertmanager/webhook-firing.json', import.meta.url), 'utf8'),
) as { alerts: { annotations: Record<string, string>; labels: Record<string, string> }[] };

/**
 * Patterns that backtracking engines take exponential or quadratic time on (OWASP's
 * ReDoS list and friends), the shipped playbook's own, and ones RE2 cannot run.
 */
const HOSTILE = [
  'checkout.*(502|Bad Gateway)',
  '(a+)+$',
  '(a|a)*b',
  '(a|aa)+$',
  '(x+x+)+y',
  '(.*a){12}',
  '(?:a*)*b',
  '(\\w+\\s?)+$',
  '^(([a-z])+.)+[A-Z]([a-z])+$',
  '^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$',
  '(.*a){1000}',
  '[\\s\\S]{1000}x',
  '(.*){100}502',
  '(a)\\1+b',
  '(?=a)+b',
  '(?<!x)(a+)+$',
];

function playbookWith(title: string): Playbook | undefined {
  const text = `service: fuzz-api\nmatch:\n  title: ${JSON.stringify(title)}\n`;
  return parsePlaybook(text, 'playbooks/fuzz-api.yaml').playbook;
}

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const request: InboundRequest = { headers: {}, body: Buffer.alloc(0) };

/** A real Alertmanager notification whose alerts carry `summary` and no label a playbook names. */
function notification(summary: string): unknown {
  const body = structuredClone(FIRING);
  for (const a of body.alerts) {
    a.annotations.summary = summary;
    a.labels.alertname = summary.slice(0, 64 * 1024);
  }
  return body;
}

const title = fc
  .record({
    unit: fc.constantFrom('a', 'checkout ', 'ab', 'x', 'aaaaaaaaaaaaaaaaaaaaaaaa!', ' \t', 'é', 'A1.'),
    length: fc.integer({ min: 1, max: MAX_BODY / 2 }),
    tail: fc.constantFrom('', '!', '502', 'b', '@x.y'),
  })
  .map(({ unit, length, tail }) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length) + tail);

describe('matching alerts against playbook title patterns', () => {
  it('runs the shipped kind of pattern and rejects what RE2 cannot run in linear time', () => {
    expect(playbookWith('checkout.*(502|Bad Gateway)')).toBeDefined();
    expect(playbookWith('(a+)+$')).toBeDefined();
    expect(playbookWith('(a)\\1+b')).toBeUndefined();
    expect(playbookWith('(?=a)+b')).toBeUndefined();
    expect(playbookWith('(.*a){1000}')).toBeUndefined();
  });

  it('never takes more than 100 ms of CPU to match a webhook, for long titles and hostile patterns', () => {
    const accepted = HOSTILE.map((p) => [p, playbookWith(p)] as const).filter(
      (pair): pair is readonly [string, Playbook] => pair[1] !== undefined,
    );
    expect(accepted.length).toBeGreaterThanOrEqual(10);
    const slow: string[] = [];
    fc.assert(
      fc.property(fc.constantFrom(...accepted), title, ([pattern, playbook], text) => {
        const parsed = SOURCES.alertmanager!.parse(notification(text), request, Date.now());
        if (!('alerts' in parsed)) throw new Error(`ignored: ${parsed.ignored}`);
        const used = cpuMs(() => {
          for (const alert of parsed.alerts) matchPlaybook(alert, [playbook]);
        });
        if (used > CPU_BUDGET_MS)
          slow.push(`${pattern} on ${text.length} chars of ${JSON.stringify(text.slice(0, 12))}: ${used} ms`);
        return used <= CPU_BUDGET_MS;
      }),
      { numRuns: 60, interruptAfterTimeLimit: LIMIT_MS, markInterruptAsFailure: false },
    );
    expect(slow).toEqual([]);
  });

  it('any pattern the loader accepts matches a long title in under 100 ms of CPU', () => {
    // Patterns stitched from the pieces ReDoS is made of: nested and counted repeats, alternations, classes.
    const piece = fc.constantFrom(
      'a',
      'b',
      '.',
      '\\w',
      '\\s',
      '[a-z]',
      '[^x]',
      '(',
      ')',
      '(?:',
      '|',
      '*',
      '+',
      '?',
      '*?',
      '{2,}',
      '{10}',
      '{50}',
      '{100}',
      '{1000}',
      '^',
      '$',
      '\\1',
      '(?=',
      '(?!',
      '502',
      'Bad Gateway',
    );
    const pattern = fc.array(piece, { minLength: 1, maxLength: 24 }).map((p) => p.join(''));
    let accepted = 0;
    const slow: string[] = [];
    fc.assert(
      fc.property(pattern, title, (p, text) => {
        const playbook = playbookWith(p);
        if (!playbook) return true;
        accepted += 1;
        const parsed = SOURCES.alertmanager!.parse(notification(text), request, 0);
        if (!('alerts' in parsed)) throw new Error(`ignored: ${parsed.ignored}`);
        const used = cpuMs(() => {
          for (const alert of parsed.alerts) matchPlaybook(alert, [playbook]);
        });
        if (used > CPU_BUDGET_MS) slow.push(`${p} on ${text.length} chars: ${used} ms`);
        return used <= CPU_BUDGET_MS;
      }),
      { numRuns: 300, interruptAfterTimeLimit: LIMIT_MS, markInterruptAsFailure: false },
    );
    expect(slow).toEqual([]);
    // The property says something only if many generated patterns got past the loader.
    expect(accepted).toBeGreaterThan(20);
  });

  it('still matches a long title by its beginning, and says so briefly when nothing matches', () => {
    const playbook = playbookWith('502|Bad Gateway')!;
    const parsed = SOURCES.alertmanager!.parse(
      notification(`502 Bad Gateway on checkout ${'x'.repeat(MAX_BODY / 2)}`),
      request,
      0,
    );
    if (!('alerts' in parsed)) throw new Error('no alerts');
    expect(matchPlaybook(parsed.alerts[0]!, [playbook])).toEqual({ playbook });
    const other = SOURCES.alertmanager!.parse(notification('y'.repeat(MAX_BODY / 2)), request, 0);
    if (!('alerts' in other)) throw new Error('no alerts');
    const result = matchPlaybook(other.alerts[0]!, [playbook]);
    expect('ignored' in result && result.ignored.length).toBeLessThan(400);
  });
});
