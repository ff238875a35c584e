import { setTimeout as sleep } from 'node:timers/promises';
import type { App, RespondArguments, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { PlaybookSet } from '../playbooks/load.js';
import type { Playbook } from '../playbooks/schema.js';
import type { IncidentStore } from '../store/store.js';
import { mayRunChecks } from './allowlist.js';

/** The work Slack commands and buttons start (the queue, built in main.ts); every call is idempotent. */
export interface SlackJobs {
  diagnose(incidentId: string, run: number): Promise<unknown>;
  syncRoot(incidentId: string): Promise<unknown>;
  digestNow(channel: string): Promise<unknown>;
}

export interface CommandDeps {
  store: IncidentStore;
  jobs: SlackJobs;
  playbooks: PlaybookSet;
  log: Logger;
  /** How long the command may work before it must ack and answer later (Slack gives up at 3 s). */
  ackBudgetMs?: number;
}

type Reply = RespondArguments & { response_type?: 'ephemeral' | 'in_channel' };

/** `/gateway status` also shows check runs this recent. */
const RECENT_CHECKS_MS = 3_600_000;

/** Leaves the receiver's 2.5 s fallback and the network some room under Slack's 3 s. */
const ACK_BUDGET_MS = 2000;

const HELP = [
  '*/gateway* — gatewatch answers: fix something, or scale up?',
  '• `/gateway check SERVICE` — run the service’s playbook now; the verdict lands in a thread here',
  '• `/gateway resolve SERVICE` — end the service’s open incident (the next alert opens a new one)',
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
  const run = await deps.store.nextRun(incidentId);
  await deps.jobs.diagnose(incidentId, run);
  return run;
}

/** Ends an incident by hand; the root message then says who ended it. */
export async function resolveByHand(
  deps: Pick<CommandDeps, 'store' | 'jobs' | 'log'>,
  incidentId: string,
  userId: string,
): Promise<'resolved' | 'already' | 'unknown'> {
  // Slack user ids are letters and digits; anything else is not mentioned, so the note stays plain.
  const who = /^[A-Z0-9]+$/i.test(userId) ? `<@${userId}>` : 'a person';
  const outcome = await deps.store.end(incidentId, 'manual', { note: `resolved by ${who} in Slack` });
  if (outcome === 'resolved') {
    await deps.jobs.syncRoot(incidentId);
    deps.log.info({ incident: incidentId, user: userId }, 'incident resolved from Slack');
    return 'resolved';
  }
  return outcome === 'unknown' ? 'unknown' : 'already';
}

/** The playbook a command names and the requester may act on, or the private answer saying why not. */
async function permittedPlaybook(
  verb: string,
  name: string | undefined,
  cmd: Pick<SlashCommand, 'channel_id' | 'user_id'> & { channel_name?: string },
  deps: CommandDeps,
  client?: Pick<WebClient, 'usergroups'>,
): Promise<{ playbook: Playbook } | { reply: string }> {
  const known = [...deps.playbooks.keys()];
  if (!name) return { reply: `Usage: \`/gateway ${verb} SERVICE\`. Known services: ${known.join(', ')}` };
  const playbook = deps.playbooks.get(name);
  if (!playbook)
    return {
      reply: `I don't know a service called "${name}". Known services, closest first: ${closestServices(name, known).join(', ')}`,
    };
  const permission = await mayRunChecks(
    playbook,
    { channelId: cmd.channel_id, channelName: cmd.channel_name, userId: cmd.user_id },
    client,
  );
  return permission.allowed ? { playbook } : { reply: permission.why };
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
      const permitted = await permittedPlaybook('check', args[0], cmd, deps, client);
      if ('reply' in permitted) return { response_type: 'ephemeral', text: permitted.reply };
      const { playbook } = permitted;
      // A check run of its own, ending at its verdict; during an open incident, a new run of that incident.
      const res = await deps.store.startCheck({
        service: playbook.service,
        channel: cmd.channel_id,
        requestedBy: cmd.user_id,
      });
      await deps.jobs.diagnose(res.id, res.run);
      return {
        response_type: 'ephemeral',
        text: `Checking *${playbook.service}*… the verdict will appear in a thread.`,
      };
    }
    case 'resolve': {
      const permitted = await permittedPlaybook('resolve', args[0], cmd, deps, client);
      if ('reply' in permitted) return { response_type: 'ephemeral', text: permitted.reply };
      const { playbook } = permitted;
      const open = await deps.store.openIncidentOf(playbook.service);
      const outcome = open ? await resolveByHand(deps, open.id, cmd.user_id) : 'unknown';
      return {
        response_type: 'ephemeral',
        text:
          open && outcome === 'resolved'
            ? `Resolved ${open.id} of *${playbook.service}*; the next alert opens a new incident.`
            : `*${playbook.service}* has no open incident.`,
      };
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
      const now = Date.now();
      const open = await deps.store.openIncidents();
      // Check runs end at their verdict; the last hour's are shown too, so a check just run is not missing.
      const checks = (await deps.store.between(now - RECENT_CHECKS_MS, now + 1)).filter(
        (i) => i.requestedBy && i.endReason === 'check',
      );
      if (open.length === 0 && checks.length === 0)
        return { response_type: 'ephemeral', text: 'No open incidents.' };
      const line = (i: (typeof open)[number], state: string, extra = '') =>
        `• *${i.service}* ${i.id} — ${state}, ${ageText(i.onsetAt, now)} old${i.verdict ? `, ${i.verdict.recommendation}: ${i.verdict.cause}` : ''}${extra}`;
      return {
        response_type: 'ephemeral',
        text: [
          ...(open.length > 0 ? open.map((i) => line(i, i.state)) : ['No open incidents.']),
          ...checks.map((i) =>
            line(i, 'diagnosed', ` (check run by <@${i.requestedBy}>, ended at its verdict)`),
          ),
        ].join('\n'),
      };
    }
    case 'digest':
      await deps.jobs.digestNow(cmd.channel_id);
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
