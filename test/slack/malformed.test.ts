import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GatewatchWorld,
  playbook,
  startGatewatchWorld,
  type TestGatewatch,
} from '../helpers/gatewatch.js';
import { postSlack } from './signed.js';

/** Signed but malformed bodies (found by the webhook fuzzer) are the sender's error: 400, never 500. */
describe('signed but malformed Slack requests', () => {
  let gw: TestGatewatch;
  let world: GatewatchWorld;
  beforeAll(async () => {
    world = await startGatewatchWorld({
      playbooks: [playbook({ service: 'shop', checks: { upstream: { targets: ['http://127.0.0.1:9/'] } } })],
      work: false,
    });
    ({ gw } = world);
  });
  afterAll(() => world?.stop());

  it.each([
    ['{"event":null}'],
    ['{"type":"event_callback","event":null}'],
    ['[1,2]'],
    ['null'],
    ['{"type":"block_actions","actions":"x"}'],
    ['{}'],
  ])('%s → 400 with a JSON error', async (body) => {
    const res = await postSlack(gw, body, { contentType: 'application/json' });
    expect(res.status).toBe(400);
    expect(res.json()).toHaveProperty('error');
  });

  it('a well-formed signed command still works after them', async () => {
    const res = await postSlack(gw, 'command=%2Fgateway&text=help&channel_id=C1&user_id=U1');
    expect(res.status).toBe(200);
    expect(res.text).toContain('/gateway check SERVICE');
  });
});
