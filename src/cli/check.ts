import { runChecks } from '../checks/runner.js';
import { GatewatchError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PlaybookSet } from '../playbooks/load.js';
import { closestServices } from '../slack/commands.js';
import { decide } from '../verdict/engine.js';
import type { Verdict } from '../verdict/types.js';

/** `gatewatch check`: run one service's playbook now, with no Redis and no Slack. */
export async function checkService(
  service: string,
  playbooks: PlaybookSet,
  opts: { log: Logger; env?: Readonly<Record<string, string | undefined>>; signal?: AbortSignal },
): Promise<Verdict> {
  const playbook = playbooks.get(service);
  if (!playbook)
    throw new GatewatchError(
      'UNKNOWN_SERVICE',
      `no playbook for service "${service}"; known: ${closestServices(service, playbooks.keys()).join(', ') || '(none)'}`,
    );
  const started = performance.now();
  const onsetAt = Date.now();
  const results = await runChecks(playbook, {
    log: opts.log.child({ service }),
    signal: opts.signal,
    env: opts.env ?? process.env,
    now: Date.now,
    onsetAt,
  });
  return decide({ service, incident: null, results, durationMs: performance.now() - started, onsetAt });
}
