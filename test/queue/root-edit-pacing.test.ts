import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncRootMessage } from '../../src/queue/lifecycle.js';
import type { SlackThread } from '../../src/slack/thread.js';
import type { Incident } from '../../src/store/incident.js';
import { IncidentStore } from '../../src/store/store.js';
import { lifecycle, SAMPLE_VERDICT } from '../helpers/lifecycle.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';

/** Slack's pace for edits of one message, as issue 16 asks of the storm's count edits: one per 2 s. */
const MIN_GAP_MS = 2000;

describe('root message edits after the verdict are paced across workers', () => {
  let redis: PrivateRedis;
  let n = 0;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.destroy();
  });

  /** An incident, and a notifier whose Slack thread records each root edit (when, and the count shown). */
  async function world() {
    const store = new IncidentStore(redis.client(), `{pacing-${++n}}`);
    const trigger = (key: string) =>
      store.openOrJoin({
        source: 'pagerduty',
        key,
        service: 'shop',
        title: 'shop 502s',
        onsetAt: new Date().toISOString(),
        preferredId: 'PSHOP',
      });
    const { id } = await trigger('PA');
    const edits: { at: number; count: number }[] = [];
    const slack = {
      postVerdict: async () => {},
      updateRoot: async (inc: Incident) => {
        edits.push({ at: performance.now(), count: inc.alertCount });
      },
    } as unknown as SlackThread;
    const deps = lifecycle(store, { slack });
    const { notifier } = deps;
    const gaps = () => {
      const at = edits.map((e) => e.at).sort((a, b) => a - b);
      return at.slice(1).map((t, i) => t - at[i]!);
    };
    return { store, id, trigger, edits, notifier, deps, gaps };
  }

  it('three count edits due at once (a late job and the next on time, on two workers): ≥ 2 s apart, the last showing an alert that joined meanwhile', async () => {
    const w = await world();
    const jobs = [
      syncRootMessage({ incidentId: w.id }, w.deps),
      syncRootMessage({ incidentId: w.id }, w.deps),
    ];
    await w.trigger('PA');
    jobs.push(syncRootMessage({ incidentId: w.id }, w.deps));
    await Promise.all(jobs);

    expect(w.edits).toHaveLength(3);
    for (const gap of w.gaps()) expect(gap).toBeGreaterThanOrEqual(MIN_GAP_MS);
    expect(w.edits.at(-1)!.count).toBe(2);
  }, 20_000);

  it("the verdict's own root edit and a count edit due at the same moment are ≥ 2 s apart", async () => {
    const w = await world();
    const inc = (await w.store.get(w.id))!;
    await Promise.all([
      w.notifier.verdict(inc, SAMPLE_VERDICT, { shown: [], total: 0 }),
      syncRootMessage({ incidentId: w.id }, w.deps),
    ]);
    expect(w.edits).toHaveLength(2);
    expect(w.gaps()[0]).toBeGreaterThanOrEqual(MIN_GAP_MS);
  }, 20_000);
});
