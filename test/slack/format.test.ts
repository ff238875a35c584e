import { describe, expect, it } from 'vitest';
import type { Incident } from '../../src/ingest/incident.js';
import { ALL_CAUSES, CAUSE_TEXT } from '../../src/slack/causes.js';
import {
  ACTION_IDS,
  type Block,
  feedbackBlocks,
  HEADLINE,
  LIMITS,
  rootMessage,
  verdictBlocks,
  verdictMetadata,
  verdictText,
} from '../../src/slack/format.js';
import { sampleVerdict } from './verdicts.js';

/** Every text a block carries, with where it sits, for the limit checks. */
function texts(block: Block): { where: string; text: string }[] {
  const out: { where: string; text: string }[] = [];
  const t = block.text as { text?: string } | undefined;
  if (t?.text !== undefined) out.push({ where: `${block.type}.text`, text: t.text });
  for (const f of (block.fields as { text: string }[] | undefined) ?? [])
    out.push({ where: `${block.type}.field`, text: f.text });
  for (const e of (block.elements as { text?: string | { text: string } }[] | undefined) ?? []) {
    const text = typeof e.text === 'string' ? e.text : e.text?.text;
    if (text !== undefined) out.push({ where: `${block.type}.element`, text });
  }
  return out;
}

/** Slack's documented Block Kit limits, checked one by one so a failure names the limit. */
function expectWithinLimits(blocks: Block[]): void {
  expect(blocks.length).toBeGreaterThan(0);
  expect(blocks.length).toBeLessThanOrEqual(50);
  let total = 0;
  for (const b of blocks) {
    for (const { where, text } of texts(b)) {
      total += text.length;
      if (b.type === 'header') expect(text.length, where).toBeLessThanOrEqual(150);
      if (where === 'section.text') expect(text.length, where).toBeLessThanOrEqual(3000);
      if (where === 'section.field') expect(text.length, where).toBeLessThanOrEqual(2000);
      if (b.type === 'context') expect(text.length, where).toBeLessThanOrEqual(3000);
      if (b.type === 'actions') expect(text.length, where).toBeLessThanOrEqual(75);
    }
    if (b.type === 'section') expect(((b.fields as unknown[]) ?? []).length).toBeLessThanOrEqual(10);
    if (b.type === 'context') expect((b.elements as unknown[]).length).toBeLessThanOrEqual(10);
    if (b.type === 'actions') expect((b.elements as unknown[]).length).toBeLessThanOrEqual(25);
  }
  // Slack refuses messages whose blocks total about 13k characters (msg_blocks_too_long).
  expect(total).toBeLessThanOrEqual(LIMITS.totalText);
}

function allText(blocks: Block[]): string {
  return blocks.flatMap((b) => texts(b).map((t) => t.text)).join('\n');
}

const buttons = { incidentId: 'Q3B15VLMF3ASBD', acknowledge: true };

describe('verdict reply in Block Kit', () => {
  it('covers all 19 causes of the contract', () => {
    expect(ALL_CAUSES).toHaveLength(19);
  });

  for (const cause of ALL_CAUSES) {
    it(`${cause}: headline, cause, actions, evidence, capacity, trigger, buttons — within limits`, () => {
      const v = sampleVerdict(cause);
      const blocks = verdictBlocks(v, buttons);
      const text = verdictText(v);
      expect({ blocks, text }).toMatchSnapshot();

      expectWithinLimits(blocks);
      const header = blocks[0] as { type: string; text: { text: string } };
      expect(header.type).toBe('header');
      expect(header.text.text).toContain(HEADLINE[v.recommendation]);
      const body = allText(blocks);
      expect(body).toContain(CAUSE_TEXT[cause]);
      for (const [i, a] of v.actions.entries())
        expect(body).toContain(`${i + 1}. ${a.replace(/&/g, '&amp;')}`);
      for (const c of v.checks) expect(body).toContain(`*${c.name}* ${c.status} · ${c.duration_ms} ms`);
      if (v.capacity) expect(body).toContain(`${v.capacity.suggested_instances} instances`);
      if (v.trigger) expect(body).toContain(v.trigger.ref);
      expect(body).not.toContain('truncated');
      const actions = blocks.at(-1) as { type: string; elements: { action_id: string; value: string }[] };
      expect(actions.type).toBe('actions');
      expect(actions.elements.map((e) => e.action_id)).toEqual([
        ACTION_IDS.rerun,
        ACTION_IDS.acknowledge,
        ACTION_IDS.wrong,
      ]);
      expect(actions.elements.every((e) => e.value === buttons.incidentId)).toBe(true);

      expect(text.length).toBeLessThanOrEqual(4000);
      expect(text).toContain(HEADLINE[v.recommendation]);
      expect(verdictMetadata(v)).toEqual({ event_type: 'gatewatch_verdict', event_payload: v });
    });
  }

  it('offers no Acknowledge button where there is no PagerDuty incident', () => {
    const blocks = verdictBlocks(sampleVerdict('db_slow'), {
      incidentId: 'checkout-api-1',
      acknowledge: false,
    });
    const actions = blocks.at(-1) as unknown as { elements: { action_id: string }[] };
    expect(actions.elements.map((e) => e.action_id)).toEqual([ACTION_IDS.rerun, ACTION_IDS.wrong]);
  });

  it('oversize: 200 actions and a 50 KB evidence summary stay within every limit, with a visible truncation note', () => {
    const v = sampleVerdict('upstream_partial');
    v.actions = Array.from(
      { length: 200 },
      (_, i) =>
        `Restart the instance on 10.0.${Math.floor(i / 250)}.${i % 250}:8080 and take it out of the pool <now> & check`,
    );
    v.checks[0]!.summary = `refused: ${'10.0.1.12:8080 ECONNREFUSED; '.repeat(1800)}`.slice(0, 50 * 1024);
    v.summary = 'S'.repeat(10_000);
    v.service = 'a-very-long-service-name-'.repeat(10);
    const blocks = verdictBlocks(v, buttons);
    expect(blocks).toMatchSnapshot();

    expectWithinLimits(blocks);
    const body = allText(blocks);
    expect(body).toMatch(/\d+ more actions not shown \(truncated\)/);
    expect(body).toContain('evidence truncated');
    expect(body).toContain('1. Restart the instance on 10.0.0.0:8080');
    expect(body).toContain('&lt;now&gt; &amp; check');
    // The buttons survive however long the body is.
    expect(blocks.at(-1)?.type).toBe('actions');
    expect(verdictText(v).length).toBeLessThanOrEqual(4000);
  });

  it('oversize: 80 checks never push the blocks past 50', () => {
    const v = sampleVerdict('unknown');
    v.checks = Array.from({ length: 80 }, (_, i) => ({
      name: 'upstream' as const,
      status: 'warn' as const,
      duration_ms: i,
      summary: `target ${i}: ${'slow '.repeat(100)}`,
      evidence: [],
    }));
    const blocks = verdictBlocks(v, buttons);
    expectWithinLimits(blocks);
    expect(allText(blocks)).toMatch(/\d+ more checks not shown/);
  });
});

const incident: Incident = {
  id: 'Q3B15VLMF3ASBD',
  service: 'checkout-api',
  source: 'pagerduty',
  externalId: 'Q3B15VLMF3ASBD',
  title: '502 Bad Gateway on checkout',
  url: 'https://acme.pagerduty.com/incidents/Q3B15VLMF3ASBD',
  state: 'diagnosing',
  onsetAt: '2025-03-04T09:18:00.000Z',
  firstAlertAt: '2025-03-04T09:18:05.000Z',
  lastAlertAt: '2025-03-04T09:19:00.000Z',
  alertCount: 3,
  run: 1,
  diagnosingAt: '2025-03-04T09:18:06.000Z',
  verdictAt: null,
  acknowledgedAt: null,
  resolvedAt: null,
  verdict: null,
  channel: 'C0INCIDENT',
  rootTs: '1741079886.000100',
  verdictTs: null,
  requestedBy: null,
  feedback: null,
};

describe('root message', () => {
  it('shows service, source, incident link, state and checks as they finish', () => {
    const msg = rootMessage(incident, {
      planned: ['proxy', 'upstream', 'database'],
      done: [{ name: 'upstream', status: 'fail', duration_ms: 2004 }],
    });
    expect(msg).toMatchSnapshot();
    expectWithinLimits(msg.blocks);
    const body = allText(msg.blocks);
    expect(body).toContain('checkout-api');
    expect(body).toContain('pagerduty Q3B15VLMF3ASBD');
    expect(body).toContain('<https://acme.pagerduty.com/incidents/Q3B15VLMF3ASBD|Q3B15VLMF3ASBD>');
    expect(body).toContain('diagnosing');
    expect(body).toContain('Checks 1/3');
    expect(body).toContain('upstream fail 2004 ms');
  });

  it('shows the verdict once diagnosed, and resolution', () => {
    const diagnosed = rootMessage({
      ...incident,
      state: 'diagnosed',
      verdict: sampleVerdict('upstream_down'),
    });
    expect(allText(diagnosed.blocks)).toContain('FIX: upstream_down');
    expect(allText(diagnosed.blocks)).not.toContain('Checks');
    const resolved = rootMessage({ ...incident, state: 'resolved', resolvedAt: '2025-03-04T09:40:00.000Z' });
    expect(resolved.text).toContain('resolved after 22 min');
    const slack = rootMessage({ ...incident, source: 'slack', url: null, requestedBy: 'U123' });
    expect(slack.text).toContain('requested by <@U123>');
    expect(slack).toMatchSnapshot();
  });
});

describe('"which cause was right?"', () => {
  it('offers every other cause, each naming the incident', () => {
    const blocks = feedbackBlocks('Q3B15VLMF3ASBD', 'upstream_down', ALL_CAUSES);
    expectWithinLimits(blocks);
    const select = (blocks[1] as unknown as { elements: { options: { value: string }[] }[] }).elements[0]!;
    expect(select.options.map((o) => o.value)).toEqual(
      ALL_CAUSES.filter((c) => c !== 'upstream_down').map((c) => `${c}:Q3B15VLMF3ASBD`),
    );
  });
});
