import { describe, expect, it } from 'vitest';
import { ALL_CAUSES } from '../../src/slack/causes.js';
import {
  ACTION_IDS,
  type Block,
  feedbackBlocks,
  LIMITS,
  rootMessage,
  verdictBlocks,
  verdictFallbackText,
  verdictMetadata,
  verdictText,
} from '../../src/slack/format.js';
import type { Incident } from '../../src/store/incident.js';
import type { Cause } from '../../src/verdict/types.js';
import { sampleVerdict } from './verdicts.js';

/**
 * The contract's cause table (CONTRACT.md, "The verdict"), written out: each cause's
 * recommendation, and words from "what it means" that its plain-language line must carry.
 */
const CONTRACT_CAUSES: Record<string, { recommendation: string; words: RegExp }> = {
  upstream_down: { recommendation: 'fix', words: /unreachable/i },
  upstream_partial: { recommendation: 'fix', words: /dead/i },
  proxy_misrouted: { recommendation: 'fix', words: /wrong host, port or path/i },
  dns_failure: { recommendation: 'fix', words: /does not resolve/i },
  upstream_crash: { recommendation: 'fix', words: /reset or close/i },
  upstream_timeout: { recommendation: 'fix', words: /too slowly/i },
  upstream_saturated: { recommendation: 'scale-up', words: /exhausted/i },
  db_unavailable: { recommendation: 'fix', words: /refuses connections/i },
  db_slow: { recommendation: 'fix', words: /long queries or locks/i },
  db_saturated: { recommendation: 'scale-up', words: /out of connections or CPU/i },
  upstream_keepalive: { recommendation: 'fix', words: /keep-alive/i },
  response_rejected: { recommendation: 'fix', words: /reject/i },
  upstream_tls: { recommendation: 'fix', words: /TLS/ },
  worker_pool_exhausted: { recommendation: 'fix', words: /worker pool/i },
  memory_leak: { recommendation: 'fix', words: /memory/i },
  network_path: { recommendation: 'fix', words: /cannot reach/i },
  deploy_drain: { recommendation: 'fix', words: /rollout|restart/i },
  recovered: { recommendation: 'none', words: /no 502/i },
  unknown: { recommendation: 'investigate', words: /missing or contradicts/i },
};

/** The headline each recommendation is announced with. */
const HEADLINES: Record<string, string> = {
  fix: 'FIX',
  'scale-up': 'SCALE UP',
  investigate: 'INVESTIGATE',
  none: 'NO ACTION',
};

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
  it("gives only the contract's causes, each with the contract's recommendation", () => {
    for (const cause of ALL_CAUSES) {
      expect(Object.keys(CONTRACT_CAUSES)).toContain(cause);
      expect(sampleVerdict(cause).recommendation).toBe(CONTRACT_CAUSES[cause]!.recommendation);
    }
    // Every cause of the contract is given: the table has 19.
    expect([...ALL_CAUSES].sort()).toEqual(Object.keys(CONTRACT_CAUSES).sort());
    expect(ALL_CAUSES).toHaveLength(19);
  });

  for (const [name, expected] of Object.entries(CONTRACT_CAUSES)) {
    const cause = name as Cause;
    it(`${cause}: headline, cause, actions, evidence, capacity, trigger, buttons — within limits`, () => {
      const v = sampleVerdict(cause);
      const blocks = verdictBlocks(v, buttons);
      const text = verdictText(v);
      expect({ blocks, text }).toMatchSnapshot();

      expectWithinLimits(blocks);
      const header = blocks[0] as { type: string; text: { text: string } };
      expect(header.type).toBe('header');
      expect(header.text.text).toContain(HEADLINES[expected.recommendation]!);
      const body = allText(blocks);
      expect(body).toMatch(expected.words);
      expect(body).toContain(`_cause_ \`${cause}\``);
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
      expect(text).toContain(HEADLINES[expected.recommendation]!);
      expect(text).toContain(`cause ${cause}`);
    });
  }

  it("metadata carries the contract's fields and the run, flat, whatever the verdict holds", () => {
    const v = sampleVerdict('upstream_partial');
    v.summary = `Two of three targets refuse. ${'S'.repeat(20_000)}`;
    const meta = verdictMetadata(v, 3);
    expect(meta.event_type).toBe('gatewatch_verdict');
    expect(Object.keys(meta.event_payload).sort()).toEqual(
      [
        'cause',
        'confidence',
        'duration_ms',
        'incident',
        'recommendation',
        'run',
        'service',
        'summary',
      ].sort(),
    );
    expect(meta.event_payload).toMatchObject({
      service: 'checkout-api',
      incident: 'Q3B15VLMF3ASBD',
      recommendation: 'fix',
      cause: 'upstream_partial',
      confidence: 0.85,
      duration_ms: 1502,
      run: 3,
    });
    // Slack's MessageMetadata holds scalars (and flat objects); evidence and actions stay out.
    for (const value of Object.values(meta.event_payload))
      expect(['string', 'number']).toContain(typeof value);
    expect(String(meta.event_payload.summary)).toMatch(/^Two of three targets refuse\. S+…$/);
    expect(JSON.stringify(meta).length).toBeLessThan(2048);
  });

  it('metadata of a check with no incident leaves the incident out rather than sending null', () => {
    const v = { ...sampleVerdict('recovered'), incident: null };
    const meta = verdictMetadata(v, 1);
    expect(meta.event_payload).not.toHaveProperty('incident');
    expect(meta.event_payload).toMatchObject({ cause: 'recovered', recommendation: 'none', run: 1 });
  });

  it('the fallback text escapes what a commit subject or change summary could turn into markup', () => {
    const v = sampleVerdict('proxy_misrouted');
    v.trigger = {
      kind: 'deploy',
      ref: 'v2.3.1',
      summary: 'Merge <!channel> & *hotfix* for _payments_ ~now~ `x`',
      author: '<@U0ADMIN>',
      at: '2025-03-04T09:12:00Z',
      minutes_before_onset: 6,
    };
    const text = verdictFallbackText(v);
    expect(text).toContain('Merge &lt;!channel&gt; &amp;');
    expect(text).toContain('&lt;@U0ADMIN&gt;');
    expect(text).not.toMatch(/<[!@]/);
    // Slack has no escape for * _ ~ `: a zero-width space after each keeps them from pairing.
    expect(text).not.toMatch(/\*hotfix\*|_payments_|~now~|`x`/);
    expect(text.replace(/\u200b/g, '')).toContain('*hotfix* for _payments_ ~now~ `x`');
    expect(text.length).toBeLessThanOrEqual(4000);
    // The trigger line of the blocks is held to the same.
    expect(allText(verdictBlocks(v))).not.toMatch(/\*hotfix\*|<!channel>|<@U0ADMIN>/);
    // The plain text (PagerDuty's note) keeps the words as they are.
    expect(verdictText(v)).toContain('Merge <!channel> & *hotfix* for _payments_ ~now~ `x`');
  });

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

  it("keeps an alert title's markup from rendering, in the blocks and the notification text", () => {
    const msg = rootMessage({ ...incident, title: '<!here> 502 on *checkout* & _payments_' });
    expect(msg.text).toContain('&lt;!here&gt; 502 on *\u200bcheckout*\u200b &amp; _\u200bpayments_\u200b');
    expect(allText(msg.blocks)).toContain(
      '&lt;!here&gt; 502 on *\u200bcheckout*\u200b &amp; _\u200bpayments_\u200b',
    );
    expect(allText(msg.blocks)).not.toMatch(/<!here>|\*checkout\*|_payments_/);
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
