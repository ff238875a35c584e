import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  signGatewatch,
  verifyGatewatchSignature,
  verifyPagerDutySignature,
  verifySlackSignature,
} from '../../src/signing.js';

const fixture = (p: string) => new URL(`../fixtures/${p}`, import.meta.url);

describe('PagerDuty v3 signature vector (go-pagerduty)', () => {
  const vector = JSON.parse(readFileSync(fixture('pagerduty/signature-vector.json'), 'utf8')) as {
    secret: string;
    body_bytes: number;
    cases: { name: string; header_value: string | null; expect: string; body_override?: string }[];
  };
  const body = readFileSync(fixture('pagerduty/signature-vector.body.json'));

  it('reads the raw body bytes exactly (no trailing newline)', () => {
    expect(body.length).toBe(vector.body_bytes);
  });

  for (const c of vector.cases.filter((c) => c.header_value !== null && c.body_override === undefined)) {
    it(`case "${c.name}" is ${c.expect}`, () => {
      expect(verifyPagerDutySignature(body, c.header_value!, [vector.secret])).toBe(c.expect === 'valid');
    });
  }

  it('accepts any of several configured secrets (rotation)', () => {
    const valid = vector.cases.find((c) => c.name === 'valid')!.header_value!;
    expect(verifyPagerDutySignature(body, valid, ['old-secret', vector.secret])).toBe(true);
    expect(verifyPagerDutySignature(body, valid, ['old-secret'])).toBe(false);
  });

  it('rejects a body changed by one byte', () => {
    const valid = vector.cases.find((c) => c.name === 'valid')!.header_value!;
    const tampered = Buffer.from(body);
    tampered[10] = tampered[10]! ^ 1;
    expect(verifyPagerDutySignature(tampered, valid, [vector.secret])).toBe(false);
  });

  it('rejects headers without v1 entries', () => {
    expect(verifyPagerDutySignature(body, 'v0=abc,sha256=def', [vector.secret])).toBe(false);
  });
});

describe('Slack v0 signature vector (Slack docs)', () => {
  const vector = JSON.parse(readFileSync(fixture('slack/signature-vector.json'), 'utf8')) as {
    signing_secret: string;
    headers: Record<string, string>;
    expected_signature: string;
  };
  const body = readFileSync(fixture('slack/slash-command.txt'));
  const ts = vector.headers['X-Slack-Request-Timestamp']!;
  const at = (offsetS: number) => (Number(ts) + offsetS) * 1000;

  it('reproduces the documented signature within the window', () => {
    expect(verifySlackSignature(body, ts, vector.expected_signature, vector.signing_secret, at(10))).toBe(
      'ok',
    );
  });

  it('calls a request older than five minutes stale', () => {
    expect(verifySlackSignature(body, ts, vector.expected_signature, vector.signing_secret, at(301))).toBe(
      'stale',
    );
  });

  it('calls a wrong signature a mismatch', () => {
    const wrong = vector.expected_signature.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    expect(verifySlackSignature(body, ts, wrong, vector.signing_secret, at(1))).toBe('mismatch');
    expect(verifySlackSignature(body, ts, vector.expected_signature, 'other', at(1))).toBe('mismatch');
  });

  it('calls missing headers missing', () => {
    expect(
      verifySlackSignature(body, undefined, vector.expected_signature, vector.signing_secret, at(1)),
    ).toBe('missing');
  });
});

describe('gatewatch hook signature', () => {
  it('round-trips and enforces the 5-minute window', () => {
    const now = 1_800_000_000_000;
    const body = Buffer.from('{"service":"x"}');
    const { timestamp, signature } = signGatewatch(body, 's3cret', now);
    expect(verifyGatewatchSignature(body, timestamp, signature, 's3cret', now + 1000)).toBe('ok');
    expect(verifyGatewatchSignature(body, timestamp, signature, 's3cret', now + 301_000)).toBe('stale');
    expect(verifyGatewatchSignature(body, timestamp, signature, 'other', now)).toBe('mismatch');
  });
});
