import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { syncRootMessage } from '../../src/queue/lifecycle.js';
import type { IncidentNotifier } from '../../src/queue/notify.js';
import type { Incident } from '../../src/store/incident.js';
import { IncidentStore } from '../../src/store/store.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';

/** Slack's pace for edits of one message, as issue 16 asks for the storm's count edits: one per 2 s. */
const MIN_GAP_MS = 2000;

describe('count edits of a root message are paced across workers', () => {
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.destroy();
  });

  it('three edit jobs due at the same moment (a late one and the next on time, on two workers): edits ≥ 2 s apart, each showing the count at its time', async () => {
    const store = new IncidentStore(redis.client(), '{pacing-1}');
    const now = new Date();
    const trigger = (key: string) =>
      store.openOrJoin({
        source: 'pagerduty',
        key,
        service: 'shop',
        title: 'shop 502s',
        onsetAt: now.toISOString(),
        preferredId: 'PSHOP',
      });
    const { id } = await trigger('PA');
    const edits: { at: number; count: number }[] = [];
    const notifier = {
      sync: async (inc: Incident) => {
        edits.push({ at: performance.now(), count: inc.alertCount });
      },
    } as unknown as IncidentNotifier;
    const deps = {
      store,
      notifier,
      log: silentLogger(),
      endRules: { quietMs: 600_000, maxAgeMs: 86_400_000 },
    };
    const jobs = [syncRootMessage({ incidentId: id }, deps), syncRootMessage({ incidentId: id }, deps)];
    // An alert joins while the second edit waits its turn: that edit must show it.
    await trigger('PA');
    jobs.push(syncRootMessage({ incidentId: id }, deps));
    await Promise.all(jobs);

    expect(edits).toHaveLength(3);
    const at = edits.map((e) => e.at).sort((a, b) => a - b);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(MIN_GAP_MS);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(MIN_GAP_MS);
    expect(edits.at(-1)!.count).toBe(2);
  }, 20_000);
});
