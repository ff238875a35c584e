import { describe, expect, it } from 'vitest';
import { buildDigest } from '../../src/digest/build.js';
import { digestFallbackText, renderDigestBlocks } from '../../src/digest/render-blocks.js';
import { renderDigestText } from '../../src/digest/render-text.js';
import { incidentOf, type Seed, TWO_WEEKS } from './seed.js';

const NOW = new Date('2026-03-09T00:30:00Z');

/** n services, each with three open upstream_down incidents and two scale-ups in 2026-W10. */
function crowd(n: number): Seed[] {
  return Array.from({ length: n }, (_, s) => {
    const service = `svc-${String(s).padStart(3, '0')}`;
    return [
      ...[0, 1, 2].map((k) => ({
        id: `${service}-d${k}`,
        service,
        onset: `2026-03-0${3 + k}T10:00Z`,
        cause: 'upstream_down' as const,
      })),
      ...[0, 1].map((k) => ({
        id: `${service}-s${k}`,
        service,
        onset: `2026-03-0${3 + k}T12:00Z`,
        resolved: `2026-03-0${3 + k}T12:30Z`,
        cause: 'db_saturated' as const,
      })),
    ];
  }).flat();
}

type Block = { type: string; text?: { text: string }; elements?: { text: string }[] };

describe('rendering the digest for Slack', () => {
  it('stays within Slack limits however many services there are', () => {
    const d = buildDigest(crowd(120).map(incidentOf), '2026-W10', [], 'UTC', NOW);
    expect(d.services).toHaveLength(120);
    expect(d.recommendations).toHaveLength(240);
    expect(d.openIncidents).toHaveLength(360);
    const blocks = renderDigestBlocks(d) as Block[];
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(blocks[0]!.text!.text.length).toBeLessThanOrEqual(150);
    for (const b of blocks) if (b.type === 'section') expect(b.text!.text.length).toBeLessThanOrEqual(3000);
    const all = blocks.map((b) => b.text?.text ?? '').join('\n');
    expect(all).toMatch(/…and \d+ more$/m);
    expect(all).toContain('…and 82 more services; `gatewatch digest --week 2026-W10 --print` lists all.');
    // The text digest is not cut: every service is in it.
    expect(renderDigestText(d).match(/^- svc-\d{3}: last 4 weeks: /gm)).toHaveLength(120);
  });

  it('escapes what Slack would read as markup', () => {
    const d = buildDigest(
      [incidentOf({ id: 'x1', service: 'a<b>&c', onset: '2026-03-03T10:00Z', cause: 'upstream_down' })],
      '2026-W10',
      [],
      'UTC',
      NOW,
    );
    const all = (renderDigestBlocks(d) as Block[]).map((b) => b.text?.text ?? '').join('\n');
    expect(all).toContain('a&lt;b&gt;&amp;c');
    expect(all).not.toContain('a<b>');
  });

  it('counts incidents, not /gateway check runs', () => {
    const checks: Seed[] = [1, 2, 3].map((n) => ({
      id: `check-${n}`,
      service: 'checkout-api',
      onset: `2026-03-0${n + 2}T12:00Z`,
      resolved: `2026-03-0${n + 2}T12:01Z`,
      cause: 'upstream_saturated',
      requestedBy: 'U0ASKER',
    }));
    const all = [...TWO_WEEKS, ...checks].map(incidentOf);
    const d = buildDigest(all, '2026-W10', all, 'UTC', NOW);
    expect(d.overall.incidents).toBe(11);
    const checkout = d.services.find((s) => s.service === 'checkout-api')!;
    expect(checkout.incidents).toBe(4);
    expect(checkout.lastWeeks).toMatchObject({ incidents: 6, scaleUp: 0 });
  });

  it('carries the same figures as the text, and a one-line fallback', () => {
    const all = TWO_WEEKS.map(incidentOf);
    const d = buildDigest(all, '2026-W10', all, 'UTC', NOW);
    const blocks = renderDigestBlocks(d) as Block[];
    const text = blocks.map((b) => b.text?.text ?? b.elements?.map((e) => e.text).join(' ') ?? '').join('\n');
    expect(text).toContain(
      '*Overall:* 11 incidents (+7 vs last week) · 1 open · 502 time 5 h 51 min (+3 h 21 min) · MTTA 4 min · MTTR 29 min (-8 min)',
    );
    expect(text).toContain(
      '• search-api: needed scale-up 3 times (db_saturated, upstream_saturated): plan capacity',
    );
    expect(text).toContain('*Feedback:* 3 marked wrong of 3 reviewed; 7 not reviewed');
    expect(text).toContain(
      '*search-api:* last 4 weeks: a scale-up would have cured 4 of 4 incidents; 0 needed a fix',
    );
    expect(digestFallbackText(d)).toBe(
      'Weekly reliability digest 2026-W10 (2026-03-02 to 2026-03-08, UTC): 11 incidents (+7 vs last week) · 1 open · 502 time 5 h 51 min (+3 h 21 min) · MTTA 4 min · MTTR 29 min (-8 min)',
    );
  });
});
