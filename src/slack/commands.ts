import { setTimeout as sleep } from 'node:timers/promises';
import type { App, RespondArguments, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { errorMessage } from '../errors.js';
import type { IncidentStore } from '../ingest/store.js';
import type { Logger } from '../log.js';
import type { PlaybookSet } from '../playbooks/load.js';
import type { JobQueue } from '../queue/jobs.js';
import { mayRunChecks } from './allowlist.js';

export interface CommandDeps {
  store: IncidentStore;
  jobs: JobQueue;
  playbooks: PlaybookSet;
  log: Logger;
  /** How long the command may work before it must ack and answer later (Slack gives up at 3 s). */
  ackBudgetMs?: number;
}

type Reply = RespondArguments & { response_type?: 'ephemeral' | 'in_channel' };

/** Leaves the receiver's 2.5 s fallback and the network some room under Slack's 3 s. */
const ACK_BUDGET_MS = 2000;

const HELP = [
  '*/gateway* — gatewatch answers: fix something, or scale up?',
  '• `/gateway check SERVICE` — run the service’s playbook now; the verdict lands in a thread here',
  '• `/gateway status` — open incidents, their age and state',
  '• `/gateway services` — the services gatewatch knows',
  '• `/gateway digest` — the weekly reliability digest',
  '• `/gateway help` — this list',
].join('\n');

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** Known services, the closest to what was typed first. */
export function closestServices(typed: string, known: Iterable<string>): string[] {
  const t = typed.toLowerCase();
  return [...known].sort(
    (x, y) => editDistance(t, x.toLowerCase()) - editDistance(t, y.toLowerCase()) || x.localeCompare(y),
  );
}

function ageText(fromIso: string, now: number): string {
  const min = Math.round((now - Date.parse(fromIso)) / 60_000);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** Starts another diagnosis run of an incident, in its own thread; returns the run number. */
export async function queueRerun(
  deps: Pick<CommandDeps, 'store' | 'jobs'>,
  incidentId: string,
): Promise<number> {
  const run = await deps.store.redis.hincrby(deps.store.key(incidentId), 'run', 1);
  await deps.jobs.diagnose(incidentId, run);
  return run;
}

/** The `/gateway` command as a plain function of its text: what to answer, and what to enqueue. */
export async function runGatewayCommand(
  cmd: Pick<SlashCommand, 'text' | 'channel_id' | 'user_id'> & { channel_name?: string },
  deps: CommandDeps,
  client?: Pick<WebClient, 'usergroups'>,
): Promise<Reply> {
  const [verb = 'help', ...args] = cmd.text.trim().split(/\s+/).filter(Boolean);
  switch (verb.toLowerCase()) {
    case 'check': {
      const name = args[0];
      const known = [...deps.playbooks.keys()];
      if (!name)
        return {
          response_type: 'ephemeral',
          text: `Usage: \`/gateway check SERVICE\`. Known services: ${known.join(', ')}`,
        };
      const playbook = deps.playbooks.get(name);
      if (!playbook)
        return {
          response_type: 'ephemeral',
          text: `I don't know a service called "${name}". Known services, closest first: ${closestServices(name, known).join(', ')}`,
        };
      const permission = await mayRunChecks(
        playbook,
        { channelId: cmd.channel_id, channelName: cmd.channel_name, userId: cmd.user_id },
        client,
      );
      if (!permission.allowed) return { response_type: 'ephemeral', text: permission.why };
      const res = await deps.store.openOrJoin({
        source: 'slack',
        key: `check:${cmd.channel_id}:${Date.now()}`,
        service: `${name}`,
        title: `/gateway check ${name}`,
        onsetAt: new Date().toISOString(),
        requestedBy: cmd.user_id,
        channel: cmd.channel_id,
      });
      if (res.outcome === 'created') await deps.jobs.diagnose(res.id, 1);
      // A check during an open incident re-runs that incident's diagnosis in its own thread.
      else await queueRerun(deps, res.id);
      return { response_type: 'ephemeral', text: `Checking *${name}*… the verdict will appear in a thread.` };
    }
    case 'services':
      return {
        response_type: 'ephemeral',
        text:
          [...deps.playbooks.values()]
            .map((p) => `• *${p.service}*${p.description ? ` — ${p.description}` : ''}`)
            .join('\n') || 'No playbooks loaded.',
      };
    case 'status': {
      const open = await deps.store.openIncidents();
      if (open.length === 0) return { response_type: 'ephemeral', text: 'No open incidents.' };
      const now = Date.now();
      return {
        response_type: 'ephemeral',
        text: open
          .map(
            (i) =>
              `• *${i.service}* ${i.id} — ${i.state}, ${ageText(i.onsetAt, now)} old${i.verdict ? `, ${i.verdict.recommendation}: ${i.verdict.cause}` : ''}`,
          )
          .join('\n'),
      };
    }
    case 'digest':
      await deps.jobs.queue.add('digest', { kind: 'digest', channel: cmd.channel_id });
      return { response_type: 'ephemeral', text: 'Building the weekly digest; it will be posted here.' };
    default:
      return { response_type: 'ephemeral', text: HELP };
  }
}

const FAILED: Reply = {
  response_type: 'ephemeral',
  text: 'gatewatch could not take that command right now; try again in a minute.',
};

/**
 * `/gateway` in Bolt. The ack never waits on Redis or Slack beyond the budget:
 * past it, the user sees "working on it" at once and the real answer follows
 * through the command's response_url.
 */
export function registerCommands(app: App, deps: CommandDeps): void {
  app.command('/gateway', async ({ command, ack, respond, client }) => {
    const log = deps.log.child({ command: '/gateway', user: command.user_id, channel: command.channel_id });
    const work = runGatewayCommand(command, deps, client).then(
      (reply) => ({ reply }),
      (err: unknown) => {
        log.error({ err: errorMessage(err) }, '/gateway failed');
        return { reply: FAILED };
      },
    );
    const first = await Promise.race([work, sleep(deps.ackBudgetMs ?? ACK_BUDGET_MS).then(() => null)]);
    if (first) {
      await ack(first.reply);
      return;
    }
    log.warn('command is slow; acknowledged first, answering through response_url');
    await ack({ response_type: 'ephemeral', text: 'Working on it… gatewatch answers here in a moment.' });
    const { reply } = await work;
    await respond(reply).catch((err: unknown) =>
      log.error({ err: errorMessage(err) }, 'could not answer through response_url'),
    );
  });
}
