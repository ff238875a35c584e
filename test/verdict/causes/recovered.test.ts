import { describe, expect, it } from 'vitest';
import { recovered } from '../../../src/verdict/causes/recovered.js';
import {
  change,
  changesResult,
  database,
  db,
  ev,
  load,
  loadRow,
  proxy,
  proxyLogOf,
  proxySample,
  target,
  upstream,
} from '../build.js';

describe('recovered', () => {
  it.each([
    {
      name: 'proxy 200s and healthy targets',
      e: ev(upstream(target(1)), proxy(proxySample({ 200: 5 }))),
      min: 0.8,
      transient: false,
    },
    { name: 'upstream only', e: ev(upstream(target(1))), min: 0.6, max: 0.6, transient: false },
    {
      name: 'a recent change does not prevent it',
      e: ev(upstream(target(1)), proxy(proxySample({ 200: 5 })), changesResult(change('deploy', 5))),
      min: 0.8,
      transient: false,
    },
    {
      name: 'errors in the log that stopped 9 min ago: a transient',
      e: ev(
        upstream(target(1)),
        proxy(proxySample({ 200: 5 }), proxyLogOf([['refused', 12, '127.0.0.1:1', undefined, [14, 9]]])),
      ),
      min: 0.8,
      transient: true,
    },
    {
      name: 'every check including load and database',
      e: ev(upstream(target(1)), proxy(proxySample({ 200: 5 })), load(loadRow('a:1', 0.1)), database(db())),
      min: 0.9,
      transient: false,
    },
  ])('$name → recovered', ({ e, min, max, transient }) => {
    const f = recovered(e);
    expect(f?.cause).toBe('recovered');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max) expect(f!.confidence).toBeLessThanOrEqual(max);
    expect(f!.summary.includes('transient')).toBe(transient);
  });

  it.each([
    { name: '502s now', e: ev(upstream(target(1)), proxy(proxySample({ 200: 3, 502: 2 }))) },
    {
      name: 'a dead target',
      e: ev(upstream(target(1), target(2, 'refused')), proxy(proxySample({ 200: 5 }))),
    },
    {
      name: 'log errors and nothing sampled',
      e: ev(upstream(target(1)), proxy(proxyLogOf([['refused', 2, '127.0.0.1:1']]))),
    },
    { name: 'hot CPU', e: ev(upstream(target(1)), load(loadRow('a:1', 0.99))) },
    {
      name: 'database locks',
      e: ev(
        upstream(target(1)),
        database(db({ lock_waits: [{ id: 1, seconds: 5, blocked_by: [2], lock: null, query: null }] })),
      ),
    },
    { name: 'nothing that judges health ran', e: ev(changesResult()) },
  ])('$name → no finding', ({ e }) => {
    expect(recovered(e)).toBeNull();
  });
});

describe('recovered needs the log quiet for a while, not one lucky sample', () => {
  it.each([
    ['errors a minute ago', [2, 1] as [number, number]],
    ['errors just now', [3, 0] as [number, number]],
    ['errors 4 min ago (under 5)', [6, 4] as [number, number]],
  ])('%s, samples all good → not recovered', (_, when) => {
    const e = ev(
      upstream(target(1)),
      proxy(proxySample({ 200: 5 }), proxyLogOf([['premature_close', 6, '127.0.0.1:1', undefined, when]])),
    );
    expect(recovered(e)).toBeNull();
  });
});
