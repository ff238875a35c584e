import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relatedLine } from '../../src/slack/lifecycle-blocks.js';
import type { RelatedIncident } from '../../src/store/incident.js';
import type { Verdict } from '../../src/verdict/types.js';
import { FakePagerDuty } from '../helpers/fake-pagerduty.js';
import { type GatewatchWorld, playbook, startGatewatchWorld } from '../helpers/gatewatch.js';
import { waitFor } from '../helpers/ports.js';
import { refusingUpstream, type Upstream } from '../helpers/upstreams.js';
import { pagerdutyEvent, pagerdutyHeaders, post } from '../ingest/send.js';

const verdict = (cause: string) => ({ cause }) as Verdict;
const rel = (service: string, cause: string | null): RelatedIncident => ({
  id: `I-${service}`,
  service,
  cause,
});

describe('the blast-radius line of a verdict', () => {
  it.each([
    { name: 'alone', cause: 'db_unavailable', related: [], want: null },
    {
      name: 'two others with the same cause',
      cause: 'db_unavailable',
      related: [rel('cart', 'db_unavailable'), rel('search', 'db_unavailable')],
      want: 'Also with 502s, begun within 15 min: *cart* (db_unavailable), *search* (db_unavailable). all db_unavailable, like this one: likely one fault shared by 3 services — fix it once.',
    },
    {
      name: 'one still diagnosing',
      cause: 'db_unavailable',
      related: [rel('cart', 'db_unavailable'), rel('search', null)],
      want: 'Also with 502s, begun within 15 min: *cart* (db_unavailable), *search* (diagnosing). 3 services at once: look for what they share (a database, the network, a deploy) before fixing each.',
    },
    {
      name: 'the same cause, but it is unknown',
      cause: 'unknown',
      related: [rel('cart', 'unknown')],
      want: 'Also with 502s, begun within 15 min: *cart* (unknown). 2 services at once: look for what they share (a database, the network, a deploy) before fixing each.',
    },
  ])('$name', ({ cause, related, want }) => {
    expect(relatedLine(verdict(cause), related)).toBe(want);
  });

  it('plain, for a PagerDuty note', () => {
    expect(relatedLine(verdict('db_unavailable'), [rel('cart', 'db_unavailable')], 'plain')).toBe(
      'Also with 502s, begun within 15 min: cart (db_unavailable). all db_unavailable, like this one: likely one fault shared by 2 services — fix it once.',
    );
  });

  it('names eight and counts the rest', () => {
    const many = Array.from({ length: 11 }, (_, i) => rel(`svc-${i}`, 'upstream_down'));
    expect(relatedLine(verdict('upstream_down'), many)).toContain('*svc-7* (upstream_down) and 3 more.');
  });
});

describe('services failing at once, on real Redis', () => {
  let world: GatewatchWorld;
  let dead: Upstream;
  let pd: FakePagerDuty;

  beforeAll(async () => {
    dead = await refusingUpstream();
    pd = await new FakePagerDuty('pd-token').start();
    pd.addIncident('PCARTINC');
    pd.addIncident('PSRCHINC');
    const checks = { upstream: { targets: [dead.url], probes: 1, timeout_ms: 1000 } };
    world = await startGatewatchWorld({
      slack: true,
      env: { PAGERDUTY_API_TOKEN: 'pd-token', PAGERDUTY_API_URL: pd.url },
      playbooks: [
        playbook({ service: 'cart', match: { pagerduty_services: ['PCART01'] }, checks }),
        playbook({ service: 'search', match: { pagerduty_services: ['PSRCH01'] }, checks }),
      ],
    });
  });

  afterAll(async () => {
    await world?.stop();
    await pd?.stop();
    await dead?.close();
  });

  const verdictReplies = () => world.slack.messages.filter((m) => m.thread_ts && m.metadata);
  const trigger = (incidentId: string, serviceId: string) => {
    const body = pagerdutyEvent({ eventType: 'incident.triggered', incidentId, serviceId });
    return post(world.gw.baseUrl, '/webhooks/pagerduty', body, pagerdutyHeaders(body));
  };

  it("the second service's verdict names the first and their shared cause; the first, alone then, names none", async () => {
    await trigger('PCARTINC', 'PCART01');
    await world.slack.waitFor(() => verdictReplies().length === 1);
    await trigger('PSRCHINC', 'PSRCH01');
    await world.slack.waitFor(() => verdictReplies().length === 2);
    const [first, second] = verdictReplies();
    expect(first!.text).not.toContain('Also with 502s');
    expect(second!.text).toContain(
      'Also with 502s, begun within 15 min: *cart* (upstream_down). all upstream_down, like this one: likely one fault shared by 2 services',
    );
    // The PagerDuty note on the second incident says it too, without Slack's markup.
    const note = await waitFor(() => pd.incidents.get('PSRCHINC')?.notes[0]?.content);
    expect(note).toContain('Also with 502s, begun within 15 min: cart (upstream_down).');
    const firstNote = await waitFor(() => pd.incidents.get('PCARTINC')?.notes[0]?.content);
    expect(firstNote).not.toContain('Also with 502s');
  });
});
