import { describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../../src/verdict/causes/db-unavailable.js';
import { database, db, ev, proxy, proxySample, target, upstream } from '../build.js';

const failing = upstream(target(1, 'http_5xx'));

describe('db_unavailable', () => {
  it.each([
    {
      name: 'refused, app answers 503',
      e: ev(database(db({ outcome: 'refused', connect_ms: null })), failing),
      min: 0.85,
      says: 'Start postgres on 127.0.0.1:5432',
      fits: ['config'],
    },
    {
      name: 'bad credentials',
      e: ev(database(db({ outcome: 'auth', connect_ms: null })), failing),
      min: 0.85,
      says: 'rejects the app',
      fits: ['deploy', 'config'],
    },
    {
      name: 'host name does not resolve',
      e: ev(database(db({ outcome: 'dns', connect_ms: null }))),
      min: 0.7,
      says: 'dig 127.0.0.1',
      fits: ['deploy', 'config'],
    },
    {
      name: 'connect timeout',
      e: ev(database(db({ outcome: 'timeout', connect_ms: null })), failing),
      min: 0.85,
      says: 'nc -vz 127.0.0.1 5432',
      fits: ['config'],
    },
    {
      name: 'refused while the site serves 200s: low confidence',
      e: ev(
        database(db({ outcome: 'refused', connect_ms: null })),
        upstream(target(1)),
        proxy(proxySample({ 200: 5 })),
      ),
      min: 0.4,
      max: 0.6,
      says: 'Start postgres',
      fits: ['config'],
    },
  ])('$name → db_unavailable', ({ e, min, max, says, fits }) => {
    const f = dbUnavailable(e);
    expect(f?.cause).toBe('db_unavailable');
    expect(f!.confidence).toBeGreaterThanOrEqual(min);
    if (max) expect(f!.confidence).toBeLessThanOrEqual(max);
    expect(f!.actions.join(' ')).toContain(says);
    expect(f!.fits).toEqual(fits);
  });

  it.each([
    { name: 'healthy database', e: ev(database(db()), failing) },
    {
      name: 'out of connections is saturation',
      e: ev(database(db({ outcome: 'too_many_connections', connect_ms: null, saturated: true })), failing),
    },
    {
      name: 'timed out after connecting is slowness',
      e: ev(database(db({ outcome: 'timeout', connect_ms: 3 })), failing),
    },
    { name: 'no database check', e: ev(failing) },
  ])('$name → no finding', ({ e }) => {
    expect(dbUnavailable(e)).toBeNull();
  });
});
