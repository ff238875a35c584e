import { writeFile } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import { loadConfig } from '../config.js';
import { errorMessage, isGatewatchError } from '../errors.js';
import { createLogger, silentLogger } from '../log.js';
import { formatProblems, loadPlaybooks, validatePlaybooks } from '../playbooks/load.js';
import { playbookJsonSchema } from '../playbooks/schema.js';
import { checkService } from './check.js';
import { renderVerdict } from './render.js';

const USAGE_CODES = new Set(['CONFIG_INVALID', 'PLAYBOOK_INVALID', 'UNKNOWN_SERVICE']);

/** Exit code per the contract: 2 for usage/configuration/playbook errors, 1 for anything else. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  return isGatewatchError(err) && USAGE_CODES.has(err.code) ? 2 : 1;
}

async function runUntilSignal(kind: 'start' | 'serve' | 'worker'): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL });
  const { start } = await import('../main.js');
  const running = await start({ config, log, serve: kind !== 'worker', work: kind !== 'serve' });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal means the operator has stopped waiting.
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      log.info(
        { signal, timeout_ms: config.SHUTDOWN_TIMEOUT_MS },
        'shutting down: intake stopped, finishing in-flight jobs',
      );
      // Closing can itself hang on a dead Redis or a stuck socket; the bound holds regardless.
      setTimeout(() => {
        log.error('shutdown overran its bound; exiting');
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS + 5000).unref();
      running.close().then(
        () => {
          log.info('shut down');
          resolve();
        },
        () => resolve(),
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  // A job handed back mid-diagnosis may still hold a probe's socket; it has nothing left to do.
  setTimeout(() => process.exit(), 500).unref();
}

export function buildProgram(out: (s: string) => void = (s) => process.stdout.write(s)): Command {
  const program = new Command('gatewatch')
    .description('On a 502: fix something, or scale up? gatewatch answers in the incident thread.')
    .exitOverride()
    .showHelpAfterError();

  program
    .command('start')
    .description('HTTP server and workers in one process')
    .action(() => runUntilSignal('start'));
  program
    .command('serve')
    .description('HTTP server only (webhooks, Slack, health, metrics)')
    .action(() => runUntilSignal('serve'));
  program
    .command('worker')
    .description('queue workers only')
    .action(() => runUntilSignal('worker'));

  program
    .command('check')
    .description("run the service's playbook now and print the verdict")
    .argument('<service>', 'service name, as in its playbook')
    .option('--playbooks <dir>', 'playbooks directory', process.env.PLAYBOOKS_DIR || './playbooks')
    .option('--json', 'print the verdict as JSON')
    .action(async (service: string, o: { playbooks: string; json?: boolean }) => {
      const log = o.json ? silentLogger() : createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
      const verdict = await checkService(service, await loadPlaybooks(o.playbooks), { log });
      out(o.json ? `${JSON.stringify(verdict, null, 2)}\n` : `${renderVerdict(verdict)}\n`);
    });

  const pb = program.command('playbooks').description('playbook tools');
  pb.command('validate')
    .argument('[dir]', 'playbooks directory', process.env.PLAYBOOKS_DIR || './playbooks')
    .description('validate every playbook; errors name file, line and field')
    .action(async (dir: string) => {
      const { playbooks, problems } = await validatePlaybooks(dir);
      if (problems.length > 0) {
        process.stderr.write(`${formatProblems(problems)}\n`);
        process.exitCode = 2;
        return;
      }
      out(`${playbooks.size} playbook(s) valid: ${[...playbooks.keys()].join(', ')}\n`);
    });
  pb.command('schema')
    .description('print the playbook JSON Schema (playbooks/schema.json)')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (o: { output?: string }) => {
      const text = `${JSON.stringify(playbookJsonSchema(), null, 2)}\n`;
      if (o.output) await writeFile(o.output, text);
      else out(text);
    });

  program
    .command('digest')
    .description('build the weekly reliability digest and post it (or --print it)')
    .option('--week <YYYY-Www>', 'ISO week in DIGEST_TZ (default: the last complete week)')
    .option('--print', 'write the digest to stdout instead of posting it')
    .action(async (o: { week?: string; print?: boolean }) => {
      const { runDigestCommand } = await import('../digest/command.js');
      await runDigestCommand(o, out);
    });

  program
    .command('demo')
    .description("a newcomer's tour: breaks a local upstream, sends a real signed alert, shows the verdict")
    .action(async () => {
      const { runDemo } = await import('../demo/demo.js');
      await runDemo({ out });
    });

  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const code = exitCodeFor(err);
    if (!(err instanceof CommanderError)) process.stderr.write(`gatewatch: ${errorMessage(err)}\n`);
    return code;
  }
}
