import type { App, RespondArguments, SlashCommand } from '@slack/bolt';
import type { IncidentStore } from '../ingest/store.js';
import type { Logger } from '../log.js';
import type { PlaybookSet } from '../playbooks/load.js';
import type { JobQueue } from '../queue/jobs.js';

export interface CommandDeps {
  store: IncidentStore;
  jobs: JobQueue;
  playbooks: PlaybookSet;
  log: Logger;
}

type Reply = RespondArguments & { response_type?: 'ephemeral' | 'in_channel' };

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
  return [...known].sort((x, y) => editDistance(typed, x) - editDistance(typed, y) || x.localeCompare(y));
}

function ageText(fromIso: string, now: number): string {
  const min = Math.round((now - Date.parse(fromIso)) / 60_000);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** The `/gateway` command as a plain function of its text: what to answer, and what to enqueue. */
export async function runGatewayCommand(
  cmd: Pick<SlashCommand, 'text' | 'channel_id' | 'user_id'>,
  deps: CommandDeps,
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
          text: `I don't know a service called "${name}". Known services: ${closestServices(name, known).join(', ')}`,
        };
      const allowed = playbook.slack.allowed_channels;
      if (allowed && !allowed.includes(cmd.channel_id))
        return { response_type: 'ephemeral', text: `Checks of ${name} may not be run from this channel.` };
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
      else {
        // A check during an open incident re-runs that incident's diagnosis in its own thread.
        const inc = await deps.store.get(res.id);
        if (inc)
          await deps.jobs.diagnose(inc.id, await deps.store.redis.hincrby(deps.store.key(inc.id), 'run', 1));
      }
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

export function registerCommands(app: App, deps: CommandDeps): void {
  app.command('/gateway', async ({ command, ack }) => {
    try {
      await ack(await runGatewayCommand(command, deps));
    } catch (err) {
      deps.log.error({ err: (err as Error).message }, '/gateway failed');
      await ack({
        response_type: 'ephemeral',
        text: 'gatewatch could not take that command right now; try again in a minute.',
      });
    }
  });
}
