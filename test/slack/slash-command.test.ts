import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySlackSignature } from '../../src/signing.js';
import { fromHash } from '../../src/store/incident.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import {
  type GatewatchWorld,
  playbook,
  startGatewatchWorld,
  type TestGatewatch,
} from '../helpers/gatewatch.js';
import { waitFor } from '../helpers/ports.js';
import type { PrivateRedis } from '../helpers/redis.js';
import { healthyUpstream, type Upstream } from '../helpers/upstreams.js';
import { postSlack, slashCommand } from './signed.js';

const vector = JSON.parse(
  readFileSync(new URL('../fixtures/slack/signature-vector.json', import.meta.url), 'utf8'),
) as {
  signing_secret: string;
  headers: Record<string, string>;
  expected_signature: string;
};
const vectorBody = readFileSync(new URL('../fixtures/slack/slash-command.txt', import.meta.url));

describe("Slack's documented signing vector", () => {
  const ts = vector.headers['X-Slack-Request-Timestamp']!;
  const at = (offsetS: number) => (Number(ts) + offsetS) * 1000;

  it('verifies inside the 5-minute window, is stale outside it, and mismatches any change', () => {
    const sig = vector.expected_signature;
    expect(verifySlackSignature(vectorBody, ts, sig, vector.signing_secret, at(0))).toBe('ok');
    expect(verifySlackSignature(vectorBody, ts, sig, vector.signing_secret, at(299))).toBe('ok');
    expect(verifySlackSignature(vectorBody, ts, sig, vector.signing_secret, at(301))).toBe('stale');
    expect(verifySlackSignature(vectorBody, ts, sig, vector.signing_secret, at(-301))).toBe('stale');
    const tampered = Buffer.from(vectorBody.toString().replace('text=', 'text=check'));
    expect(verifySlackSignature(tampered, ts, sig, vector.signing_secret, at(0))).toBe('mismatch');
    expect(verifySlackSignature(vectorBody, ts, sig, 'another-secret', at(0))).toBe('mismatch');
    expect(verifySlackSignature(vectorBody, undefined, sig, vector.signing_secret, at(0))).toBe('missing');
  });
});

describe('/gateway over signed HTTP to a real gatewatch', () => {
  let redis: PrivateRedis;
  let slack: FakeSlack;
  let gw: TestGatewatch;
  let upstream: Upstream;
  let n = 0;
  const responseUrl = () => slack.responseUrl(`cmd-${++n}`);
  const responsesTo = (url: string) => slack.responses.filter((r) => url.endsWith(`/response/${r.id}`));

  let world: GatewatchWorld;

  beforeAll(async () => {
    upstream = await healthyUpstream();
    const checks = { upstream: { targets: [upstream.url], timeout_ms: 500, probes: 1 } };
    world = await startGatewatchWorld({
      // DEBUG SLEEP makes Redis stall on demand, for the slow-Redis ack case.
      redis: { args: ['--enable-debug-command', 'yes'] },
      slack: true,
      playbooks: [
        playbook({ service: 'checkout-api', description: 'Checkout API', checks }),
        playbook({ service: 'checkout-web', checks }),
        playbook({ service: 'search', checks }),
        playbook({ service: 'payments', slack: { allowed_channels: ['#payments-oncall'] }, checks }),
        playbook({ service: 'ledger', slack: { allowed_usergroups: ['S0SRE'] }, checks }),
      ],
    });
    ({ redis, slack, gw } = world);
    slack.usergroups.set('S0SRE', ['U0BOB0001']);
  });

  afterAll(async () => {
    await world?.stop();
    await upstream?.close();
  });

  it('a valid signed `help` is answered at once with the command list, ephemeral', async () => {
    const res = await postSlack(gw, slashCommand({ text: 'help', response_url: responseUrl() }));
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body.response_type).toBe('ephemeral');
    for (const verb of ['check SERVICE', 'status', 'services', 'digest', 'help'])
      expect(String(body.text)).toContain(`/gateway ${verb}`);
  });

  it('a stale request (signed 6 minutes ago) is refused with 401 and does nothing', async () => {
    const before = slack.calls.length;
    const res = await postSlack(
      gw,
      slashCommand({ text: 'check checkout-api', response_url: responseUrl() }),
      {
        nowMs: Date.now() - 6 * 60_000,
      },
    );
    expect(res.status).toBe(401);
    expect(res.json().error).toMatch(/older than 5 minutes/);
    expect(slack.calls.length).toBe(before);
  });

  it('a wrong signature is refused with 401', async () => {
    const body = slashCommand({ text: 'help', response_url: responseUrl() });
    const wrongSecret = await postSlack(gw, body, { secret: 'not-the-signing-secret' });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.json().error).toMatch(/does not match/);
    const garbage = await postSlack(gw, body, { signature: `v0=${'f'.repeat(64)}` });
    expect(garbage.status).toBe(401);
  });

  it('`services` lists every known service', async () => {
    const res = await postSlack(gw, slashCommand({ text: 'services', response_url: responseUrl() }));
    const text = String(res.json().text);
    for (const s of ['checkout-api', 'checkout-web', 'search', 'payments', 'ledger'])
      expect(text).toContain(s);
    expect(text).toContain('Checkout API');
  });

  it('an unknown service gets an ephemeral answer naming the known ones, closest first', async () => {
    const res = await postSlack(gw, slashCommand({ text: 'check chekout-api', response_url: responseUrl() }));
    const body = res.json();
    expect(body.response_type).toBe('ephemeral');
    const list = String(body.text).split('closest first: ')[1]!.split(', ');
    expect(list[0]).toBe('checkout-api');
    expect(list[1]).toBe('checkout-web');
    expect(list.sort()).toEqual(['checkout-api', 'checkout-web', 'ledger', 'payments', 'search']);
  });

  it('`check SERVICE` acks within 3 s; the root goes to that channel and the verdict into its thread', async () => {
    const res = await postSlack(
      gw,
      slashCommand({ text: 'check checkout-api', channel_id: 'C0OPS0001', response_url: responseUrl() }),
    );
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);
    expect(String(res.json().text)).toContain('Checking *checkout-api*');
    const verdict = await slack.waitFor(() =>
      slack.messages.find(
        (m) =>
          m.metadata?.event_type === 'gatewatch_verdict' &&
          m.metadata.event_payload.service === 'checkout-api',
      ),
    );
    const root = slack.roots().find((r) => r.ts === verdict.thread_ts)!;
    expect(root.channel).toBe('C0OPS0001');
    expect(root.text).toContain('requested by <@U0ALICE01>');
    expect(verdict.metadata?.event_payload.cause).toBe('recovered');
    expect(slack.roots().filter((r) => r.channel === 'C0OPS0001')).toHaveLength(1);
  });

  it('`status` lists open incidents with their age, state and verdict', async () => {
    // Its own incident: a check of checkout-web, diagnosed before `status` is asked.
    const started = await postSlack(
      gw,
      slashCommand({ text: 'check checkout-web', channel_id: 'C0STATUS1', response_url: responseUrl() }),
    );
    expect(String(started.json().text)).toContain('Checking *checkout-web*');
    await slack.waitFor(() =>
      slack.messages.find(
        (m) =>
          m.metadata?.event_type === 'gatewatch_verdict' &&
          m.metadata.event_payload.service === 'checkout-web',
      ),
    );
    const line = /• \*checkout-web\* checkout-web-\S+ — diagnosed, \d+ min old, none: recovered/;
    // The verdict is posted, then stored: ask until the store has it too.
    const text = await waitFor(
      async () => {
        const res = await postSlack(gw, slashCommand({ text: 'status', response_url: responseUrl() }));
        const answer = String(res.json().text);
        return line.test(answer) ? answer : undefined;
      },
      10_000,
      'status to show the diagnosed checkout-web incident',
    );
    expect(text).toMatch(line);
  });

  it('allowed_channels: a check from another channel is refused; from the listed one it runs', async () => {
    const refused = await postSlack(
      gw,
      slashCommand({ text: 'check payments', channel_name: 'ops', response_url: responseUrl() }),
    );
    expect(String(refused.json().text)).toBe('Checks of payments may not be run from this channel.');
    const ok = await postSlack(
      gw,
      slashCommand({
        text: 'check payments',
        channel_id: 'C0PAY0001',
        channel_name: 'payments-oncall',
        response_url: responseUrl(),
      }),
    );
    expect(String(ok.json().text)).toContain('Checking *payments*');
    await slack.waitFor(() => slack.roots().find((r) => r.channel === 'C0PAY0001'));
  });

  it('allowed_usergroups: membership is asked of Slack; a non-member is refused, a member runs', async () => {
    const refused = await postSlack(
      gw,
      slashCommand({ text: 'check ledger', user_id: 'U0ALICE01', response_url: responseUrl() }),
    );
    expect(String(refused.json().text)).toContain('may only be run by members of <!subteam^S0SRE>');
    const lookups = slack.callsOf('usergroups.users.list');
    expect(lookups.at(-1)?.args.usergroup).toBe('S0SRE');
    const ok = await postSlack(
      gw,
      slashCommand({
        text: 'check ledger',
        user_id: 'U0BOB0001',
        channel_id: 'C0LEDGER1',
        response_url: responseUrl(),
      }),
    );
    expect(String(ok.json().text)).toContain('Checking *ledger*');
    // The incident it opened keeps who asked and where.
    const r = redis.client();
    const keys = await r.keys(`${gw.prefix}:incident:ledger-*`);
    expect(keys).toHaveLength(1);
    const inc = fromHash(await r.hgetall(keys[0]!));
    expect(inc).toMatchObject({ source: 'slack', requestedBy: 'U0BOB0001', channel: 'C0LEDGER1' });
  });

  it('acks within 3 s even while Redis stalls, and answers later through response_url', async () => {
    const blocker = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: null });
    blocker.on('error', () => {});
    const stall = blocker.call('DEBUG', 'SLEEP', '4');
    await new Promise((r) => setTimeout(r, 100));
    const url = responseUrl();
    const res = await postSlack(
      gw,
      slashCommand({ text: 'check search', channel_id: 'C0SEARCH1', response_url: url }),
    );
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);
    expect(String(res.json().text)).toContain('Working on it');
    await stall;
    blocker.disconnect();
    // Redis sleeps 4 s, longer than the HTTP side waits for a command (2 s): the command is not
    // taken, and the user is told so through the command's response_url rather than left waiting.
    const later = await slack.waitFor(() => responsesTo(url)[0], 15_000);
    expect(String(later.body.text)).toBe(
      'gatewatch could not take that command right now; try again in a minute.',
    );
    expect(responsesTo(url)).toHaveLength(1);
  });
});
