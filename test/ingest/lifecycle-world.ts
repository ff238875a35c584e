import { silentLogger } from '../../src/log.js';
import type { Playbook } from '../../src/playbooks/schema.js';
import { JobQueue } from '../../src/queue/jobs.js';
import { IncidentStore } from '../../src/store/store.js';
import { FakePagerDuty } from '../helpers/fake-pagerduty.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { startGatewatch, type TestGatewatch } from '../helpers/gatewatch.js';
import { type PrivateRedis, startRedis } from '../helpers/redis.js';
import { pagerdutyEvent, pagerdutyHeaders, post } from './send.js';

export const PD_TOKEN = 'pd-lifecycle-token';

/**
 * A real Redis, a fake Slack and a fake PagerDuty API, and as many gatewatch
 * instances as a test wants (each with its own prefix, queue and settings).
 */
export async function lifecycleWorld(playbooks: () => Playbook[]) {
  const redis: PrivateRedis = await startRedis();
  const slack = await new FakeSlack().start();
  const pd = await new FakePagerDuty(PD_TOKEN).start();
  const closers: (() => Promise<unknown>)[] = [];

  /** A gatewatch (server and worker) with PagerDuty's API set, its store, and what Slack commands get. */
  async function gatewatch(env: Record<string, string> = {}) {
    const gw = await startGatewatch({
      redisUrl: redis.url,
      slackUrl: slack.url,
      playbooks: playbooks(),
      env: { PAGERDUTY_API_TOKEN: PD_TOKEN, PAGERDUTY_API_URL: pd.url, ...env },
    });
    const store = new IncidentStore(redis.client(), gw.prefix);
    const jobs = new JobQueue(redis.client(), gw.prefix, gw.queueName);
    closers.push(
      () => jobs.close(),
      () => gw.close(),
    );
    const slackDeps = {
      store,
      jobs,
      playbooks: new Map(playbooks().map((p) => [p.service, p])),
      pagerduty: null,
      log: silentLogger(),
    };
    return { gw, store, slackDeps };
  }

  /** A signed PagerDuty webhook for an incident of the service whose PagerDuty id is `P` + its name in capitals. */
  function pagerduty(
    gw: TestGatewatch,
    service: string,
    incidentId: string,
    eventType = 'incident.triggered',
  ) {
    if (!pd.incidents.has(incidentId)) pd.addIncident(incidentId);
    const body = pagerdutyEvent({ eventType, incidentId, serviceId: `P${service.toUpperCase()}` });
    return post(gw.baseUrl, '/webhooks/pagerduty', body, pagerdutyHeaders(body));
  }

  const rootOf = (incidentId: string) =>
    slack.roots().find((m) => m.text.includes(`pagerduty ${incidentId}`));
  /** The thread replies under the incident's root message carrying this metadata event. */
  const repliesOf = (incidentId: string, eventType: string) => {
    const root = rootOf(incidentId);
    return root ? slack.replies(root.ts).filter((m) => m.metadata?.event_type === eventType) : [];
  };
  const notesOn = (incidentId: string) => pd.incidents.get(incidentId)?.notes ?? [];

  return {
    redis,
    slack,
    pd,
    gatewatch,
    pagerduty,
    rootOf,
    repliesOf,
    notesOn,
    async close() {
      for (const c of closers.reverse()) await c();
      await slack.stop();
      await pd.stop();
      await redis.destroy();
    },
  };
}
