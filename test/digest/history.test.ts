import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentHistory } from '../../src/digest/history.js';
import { composeDigest } from '../../src/digest/job.js';
import { renderDigestBlocks } from '../../src/digest/render-blocks.js';
import { renderDigestText } from '../../src/digest/render-text.js';
import { parseWeek } from '../../src/digest/week.js';
import { IncidentStore } from '../../src/store/store.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { MIN, seed, TWO_WEEKS } from './seed.js';

const DAY = 24 * 3600 * 1000;

describe('the digest of a seeded history in a real Redis', () => {
  let server: PrivateRedis;
  let redis: Redis;
  const prefix = `{gwdigest-${randomBytes(3).toString('hex')}}`;
  const store = () => new IncidentStore(redis, prefix, 90);

  beforeAll(async () => {
    server = await startRedis();
    redis = server.client();
    await seed(redis, prefix, TWO_WEEKS);
  });
  afterAll(async () => {
    await server.destroy();
  });

  // Half an hour after W10 ended; s3 is still open.
  const now = new Date('2026-03-09T00:30:00Z');

  it('gives the exact overall figures of 2026-W10 and the change against W09', async () => {
    const d = await composeDigest(store(), parseWeek('2026-W10'), 'UTC', now);
    expect(d.week).toBe('2026-W10');
    expect(d.start).toBe('2026-03-02T00:00:00.000Z');
    expect(d.end).toBe('2026-03-09T00:00:00.000Z');
    const o = d.overall;
    expect(o.incidents).toBe(11);
    expect(o.open).toBe(1);
    // 155 + 130 (s3 counts to the week's end: 60, not 90) + 61 + 5 minutes
    expect(o.badGatewayMs).toBe(351 * MIN);
    expect(o.mttaMs).toBeCloseTo((31 * MIN) / 7, 6);
    expect(o.mttrMs).toBe(29.1 * MIN);
    expect(o.verdictMix).toEqual({ fix: 5, 'scale-up': 4, investigate: 0, none: 1, no_verdict: 1 });
    expect(o.causes).toEqual([
      { cause: 'upstream_down', count: 4 },
      { cause: 'upstream_saturated', count: 2 },
      { cause: 'db_saturated', count: 1 },
    ]);
    expect(o.withVerdict).toBe(10);
    expect(o.markedWrong).toBe(3);
    // Feedback came only on c3, l2 and l3, each saying the verdict was wrong; the other seven nobody reviewed.
    expect(o.reviewed).toBe(3);
    expect(o.notReviewed).toBe(7);
    expect(o.accuracy).toBe(0);
    expect(o.change).toEqual({
      previous: { incidents: 4, badGatewayMs: 150 * MIN, mttrMs: 37.5 * MIN },
      incidents: 7,
      badGatewayMs: 201 * MIN,
      mttrMs: -8.4 * MIN,
    });
  });

  it('gives per-service figures, repeat offenders, open incidents and recommendations', async () => {
    const d = await composeDigest(store(), parseWeek('2026-W10'), 'UTC', now);
    expect(d.services.map((s) => [s.service, s.incidents, s.change.incidents])).toEqual([
      ['checkout-api', 4, 2],
      ['search-api', 3, 2],
      ['login-api', 3, 3],
      ['edge-proxy', 1, 1],
      ['billing-api', 0, -1],
    ]);
    const by = Object.fromEntries(d.services.map((s) => [s.service, s]));
    expect(by['checkout-api']).toMatchObject({
      badGatewayMs: 155 * MIN,
      mttaMs: (17 * MIN) / 3,
      mttrMs: 38.75 * MIN,
      verdictMix: { fix: 3, 'scale-up': 1, investigate: 0, none: 0, no_verdict: 0 },
      causes: [{ cause: 'upstream_down', count: 4 }],
      markedWrong: 1,
      reviewed: 1,
      notReviewed: 3,
      accuracy: 0,
      change: { incidents: 2, badGatewayMs: 85 * MIN, mttrMs: 3.75 * MIN },
    });
    expect(by['search-api']).toMatchObject({
      open: 1,
      badGatewayMs: 130 * MIN,
      mttrMs: 35 * MIN,
      verdictMix: { 'scale-up': 3 },
      causes: [
        { cause: 'upstream_saturated', count: 2 },
        { cause: 'db_saturated', count: 1 },
      ],
      // Nobody reviewed its verdicts: no accuracy to claim.
      reviewed: 0,
      notReviewed: 3,
      accuracy: null,
    });
    expect(by['login-api']).toMatchObject({
      badGatewayMs: 61 * MIN,
      mttaMs: 6 * MIN,
      verdictMix: { fix: 2, no_verdict: 1 },
      causes: [
        { cause: 'proxy_misrouted', count: 1 },
        { cause: 'unknown', count: 1 },
      ],
      withVerdict: 2,
      markedWrong: 2,
      reviewed: 2,
      notReviewed: 0,
      accuracy: 0,
    });
    // The last four weeks (W07–W10), by the cause that held: do we need bigger servers?
    expect(by['checkout-api']!.lastWeeks).toEqual({
      weeks: 4,
      incidents: 6,
      scaleUp: 0,
      fix: 6,
      other: 0,
      recurringFixes: [{ cause: 'upstream_down', count: 6 }],
    });
    expect(by['search-api']!.lastWeeks).toMatchObject({
      incidents: 4,
      scaleUp: 4,
      fix: 0,
      recurringFixes: [],
    });
    expect(by['login-api']!.lastWeeks).toMatchObject({ incidents: 3, scaleUp: 0, fix: 1, other: 2 });
    expect(by['billing-api']!.lastWeeks).toMatchObject({ incidents: 1, scaleUp: 0, fix: 1 });
    expect(by['billing-api']).toMatchObject({ incidents: 0, mttrMs: null, accuracy: null });
    expect(d.repeatOffenders).toEqual([
      { service: 'checkout-api', incidents: 4 },
      { service: 'search-api', incidents: 3 },
      { service: 'login-api', incidents: 3 },
    ]);
    expect(d.openIncidents).toEqual([
      { id: 's3', service: 'search-api', onsetAt: '2026-03-08T23:00:00.000Z', cause: 'upstream_saturated' },
    ]);
    expect(d.recommendations).toEqual([
      'checkout-api: same cause upstream_down 4 times: fix it at the root',
      'search-api: needed scale-up 3 times (db_saturated, upstream_saturated): plan capacity',
      "login-api: 2 verdicts marked wrong: review its playbook's checks and thresholds",
    ]);
    expect(d.days).toEqual([
      { date: '2026-03-02', byCause: { upstream_down: 1, upstream_saturated: 1 } },
      { date: '2026-03-03', byCause: { upstream_down: 1, recovered: 1 } },
      { date: '2026-03-04', byCause: { upstream_down: 1, proxy_misrouted: 1, unknown: 1 } },
      { date: '2026-03-05', byCause: { upstream_down: 1 } },
      { date: '2026-03-06', byCause: { db_saturated: 1 } },
      { date: '2026-03-07', byCause: { no_verdict: 1 } },
      { date: '2026-03-08', byCause: { upstream_saturated: 1 } },
    ]);
  });

  it('says the same in the text a person reads', async () => {
    const text = renderDigestText(await composeDigest(store(), parseWeek('2026-W10'), 'UTC', now));
    const lines = text.split('\n');
    expect(lines[0]).toBe('Weekly reliability digest 2026-W10 (2026-03-02 to 2026-03-08, UTC)');
    expect(lines).toContain(
      'Overall: 11 incidents (+7 vs last week) · 1 open · 502 time 5 h 51 min (+3 h 21 min) · MTTA 4 min · MTTR 29 min (-8 min)',
    );
    expect(lines).toContain('Verdicts: fix 5 · scale-up 4 · investigate 0 · none 1 · no verdict 1');
    expect(lines).toContain('Top causes: upstream_down 4 · upstream_saturated 2 · db_saturated 1');
    expect(lines).toContain('Feedback: 3 marked wrong of 3 reviewed; 7 not reviewed');
    expect(text).not.toMatch(/Accuracy|100%/);
    expect(lines).toContain(
      '- checkout-api: last 4 weeks: a scale-up would have cured 0 of 6 incidents; 6 needed a fix (recurring: upstream_down ×6)',
    );
    expect(lines).toContain(
      '- search-api: last 4 weeks: a scale-up would have cured 4 of 4 incidents; 0 needed a fix',
    );
    expect(lines).toContain('- checkout-api: same cause upstream_down 4 times: fix it at the root');
    expect(lines).toContain(
      'Repeat offenders: checkout-api (4 incidents), search-api (3 incidents), login-api (3 incidents)',
    );
    expect(lines).toContain('- search-api s3 since Sun 8 Mar 23:00 (upstream_saturated)');
    expect(lines).toContain(
      '- billing-api: last 4 weeks: a scale-up would have cured 0 of 1 incident; 1 needed a fix',
    );
    expect(lines).toContain(
      '    this week: 0 incidents (-1 vs last week) · 502 time 0 min (-20 min) · MTTA n/a · MTTR n/a',
    );
  });

  it('reads W09 on its own: the incident whose first alert fell in W10 belongs to W09 by its onset', async () => {
    const d = await composeDigest(store(), parseWeek('2026-W09'), 'UTC', now);
    expect(d.overall.incidents).toBe(4);
    expect(d.overall.badGatewayMs).toBe(150 * MIN);
    expect(d.days[6]).toEqual({ date: '2026-03-01', byCause: { upstream_down: 1 } });
  });

  it('an empty week: zeros, no averages, still a well-formed message', async () => {
    const d = await composeDigest(store(), parseWeek('2026-W20'), 'UTC', now);
    expect(d.overall).toMatchObject({
      incidents: 0,
      open: 0,
      badGatewayMs: 0,
      mttaMs: null,
      mttrMs: null,
      accuracy: null,
      causes: [],
    });
    expect(d.services).toEqual([]);
    expect(d.recommendations).toEqual([]);
    expect(d.days.every((day) => Object.keys(day.byCause).length === 0)).toBe(true);
    expect(renderDigestText(d)).toContain('No 502 incidents this week (0 incidents the week before).');
    expect(renderDigestBlocks(d).length).toBeLessThanOrEqual(50);
  });

  it('a week still under way counts open incidents up to now', async () => {
    const midWeek = new Date('2026-03-08T23:30:00Z');
    const d = await composeDigest(store(), parseWeek('2026-W10'), 'UTC', midWeek);
    expect(d.services.find((s) => s.service === 'search-api')?.badGatewayMs).toBe((70 + 30) * MIN);
  });

  it('trims index entries older than the retention from the time and service indexes', async () => {
    const p = `{gwtrim-${randomBytes(3).toString('hex')}}`;
    const at = new Date('2026-06-01T00:00:00Z');
    const [old, kept] = await seed(redis, p, [
      { id: 'old', service: 'checkout-api', onset: new Date(at.getTime() - 91 * DAY).toISOString() },
      { id: 'kept', service: 'checkout-api', onset: new Date(at.getTime() - 89 * DAY).toISOString() },
    ]);
    const history = new IncidentHistory(new IncidentStore(redis, p, 90));
    expect(await history.trim(at)).toBe(2);
    expect(await redis.zrange(`${p}:index`, 0, -1)).toEqual([kept!.id]);
    expect(await redis.zrange(`${p}:index:checkout-api`, 0, -1)).toEqual([kept!.id]);
    expect(old!.id).toBe('old');
    // The run of a digest trims too.
    await seed(redis, p, [
      { id: 'old2', service: 'search-api', onset: new Date(at.getTime() - 100 * DAY).toISOString() },
    ]);
    await composeDigest(new IncidentStore(redis, p, 90), undefined, 'UTC', at);
    expect(await redis.zcard(`${p}:index:search-api`)).toBe(0);
  });

  describe('week boundaries in a time zone with daylight saving', () => {
    const p = `{gwtz-${randomBytes(3).toString('hex')}}`;
    beforeAll(async () => {
      // Berlin leaves CET (UTC+1) for CEST (UTC+2) on Sunday 29 March 2026, inside 2026-W13.
      await seed(redis, p, [
        {
          id: 'sun-before',
          service: 'checkout-api',
          onset: '2026-03-22T22:30Z',
          cause: 'upstream_down',
          resolved: '2026-03-22T22:40Z',
        },
        {
          id: 'mon-first',
          service: 'checkout-api',
          onset: '2026-03-22T23:30Z',
          cause: 'upstream_down',
          resolved: '2026-03-22T23:40Z',
        },
        {
          id: 'sun-last',
          service: 'checkout-api',
          onset: '2026-03-29T21:30Z',
          cause: 'db_slow',
          resolved: '2026-03-29T21:50Z',
        },
        {
          id: 'mon-after',
          service: 'checkout-api',
          onset: '2026-03-29T22:30Z',
          cause: 'db_slow',
          resolved: '2026-03-29T22:35Z',
        },
      ]);
    });
    const tzStore = () => new IncidentStore(redis, p, 90);
    const at = new Date('2026-04-01T00:00:00Z');

    it('Europe/Berlin: Monday 00:00 CET to Monday 00:00 CEST, 167 hours', async () => {
      const d = await composeDigest(tzStore(), parseWeek('2026-W13'), 'Europe/Berlin', at);
      expect([d.start, d.end]).toEqual(['2026-03-22T23:00:00.000Z', '2026-03-29T22:00:00.000Z']);
      expect(d.overall.incidents).toBe(2);
      expect(d.days[0]).toEqual({ date: '2026-03-23', byCause: { upstream_down: 1 } });
      expect(d.days[6]).toEqual({ date: '2026-03-29', byCause: { db_slow: 1 } });
      expect(d.overall.change.previous.incidents).toBe(1);
      expect(d.overall.badGatewayMs).toBe(30 * MIN);
    });

    it('the same incidents in UTC fall into other weeks and days', async () => {
      const d = await composeDigest(tzStore(), parseWeek('2026-W13'), 'UTC', at);
      expect(d.overall.incidents).toBe(2);
      expect(d.days[6]).toEqual({ date: '2026-03-29', byCause: { db_slow: 2 } });
      expect(d.overall.change.previous.incidents).toBe(2);
    });

    it('America/New_York: the week the clocks go back has 169 hours, and its Sunday is local', async () => {
      await seed(redis, p, [
        // 23:30 EST on Sunday 1 November, already 2 November in UTC.
        { id: 'ny-sun', service: 'search-api', onset: '2026-11-02T04:30Z', cause: 'upstream_saturated' },
      ]);
      const d = await composeDigest(
        tzStore(),
        parseWeek('2026-W44'),
        'America/New_York',
        new Date('2026-11-02T04:45Z'),
      );
      expect([d.start, d.end]).toEqual(['2026-10-26T04:00:00.000Z', '2026-11-02T05:00:00.000Z']);
      expect(d.days[6]).toEqual({ date: '2026-11-01', byCause: { upstream_saturated: 1 } });
      expect(d.openIncidents.map((i) => i.id)).toEqual(['ny-sun']);
      expect(d.overall.badGatewayMs).toBe(15 * MIN);
    });
  });
});
