// A scraped instance whose /metrics hangs past the playbook's timeout_ms while its requests
// time out: evidence (busy or hung), never read as "idle, so it waits".
import { describe, expect, it } from 'vitest';
import { load, loadRow, proxy, proxySample, target, upstream, verdictOf } from '../build.js';

const timingOut = [proxy(proxySample({ '504': 5 })), upstream(target(8080, 'timeout'))];
const hung = (over: Parameters<typeof loadRow>[2] = {}) =>
  loadRow('127.0.0.1:8080', null, {
    status: 'fail',
    unanswered_ms: 1000,
    error: 'no answer within 1000 ms: busy or hung',
    ...over,
  });

describe('a hung metrics endpoint while requests time out', () => {
  it('nothing else known: unknown / investigate, busy or hung stated — not upstream_timeout', () => {
    const v = verdictOf(...timingOut, load(hung()));
    expect([v.cause, v.recommendation]).toEqual(['unknown', 'investigate']);
    expect(v.confidence).toBeLessThanOrEqual(0.5);
    expect(v.summary).toContain(
      'did not answer its own metrics within 1000 ms either: busy (saturated) or hung',
    );
  });

  it('its first read showed the event loop lagging: CPU-bound, upstream_saturated with capacity', () => {
    const row = hung({
      error: null,
      loop_lag_s: 0.45,
      over: ['cpu'],
      thresholds: { cpu: 0.85, memory: 0.9, loop_lag_ms: 200 },
    });
    const v = verdictOf(...timingOut, load(row));
    expect([v.cause, v.recommendation]).toEqual(['upstream_saturated', 'scale-up']);
    expect(v.capacity).toMatchObject({ resource: 'cpu', instances: 1, utilisation: 1 });
    expect(v.summary).toContain('its metrics then hung past 1000 ms, so no CPU rate');
  });

  it('an instance that answers its metrics idle stays upstream_timeout (the app waits)', () => {
    const v = verdictOf(...timingOut, load(loadRow('127.0.0.1:8080', 0.03)));
    expect(v.cause).toBe('upstream_timeout');
  });
});
