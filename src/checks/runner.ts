import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { CheckName, Playbook } from '../playbooks/schema.js';
import { redactUserinfo, scrubDeep } from './redact.js';
import { CHECKS } from './registry.js';
import type { Check, CheckContext, CheckOutput, CheckResult } from './types.js';

export interface RunChecksOptions extends Omit<CheckContext, 'signal' | 'log' | 'timeoutMs' | 'service'> {
  log: Logger;
  signal?: AbortSignal;
  /** Called as each check finishes, for live progress in the Slack root message. */
  onResult?: (result: CheckResult) => void;
  registry?: typeof CHECKS;
}

function timeout(ms: number, name: string, controller: AbortController): Promise<never> {
  return new Promise((_, reject) => {
    const t = setTimeout(() => {
      controller.abort(new Error(`timed out after ${ms} ms`));
      reject(new Error(`${name} check timed out after ${ms} ms`));
    }, ms);
    controller.signal.addEventListener('abort', () => clearTimeout(t), { once: true });
  });
}

function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new Error(`aborted: ${errorMessage(signal.reason ?? 'aborted')}`));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/**
 * Runs every check the playbook configures, in parallel, each under its own
 * timeout and AbortSignal, all under the playbook's total deadline. A check that
 * throws or overruns becomes an `error` result; it never sinks the others.
 */
export async function runChecks(playbook: Playbook, opts: RunChecksOptions): Promise<CheckResult[]> {
  const registry = opts.registry ?? CHECKS;
  const { check_ms, total_ms } = playbook.timeouts;
  const total = AbortSignal.any([AbortSignal.timeout(total_ms), ...(opts.signal ? [opts.signal] : [])]);
  const names = (Object.keys(playbook.checks) as CheckName[]).filter((n) => playbook.checks[n] !== undefined);

  const runOne = async (name: CheckName): Promise<CheckResult> => {
    const check = registry[name] as Check<CheckName> | undefined;
    const started = performance.now();
    const log = opts.log.child({ check: name });
    const finish = (out: CheckOutput): CheckResult => {
      // Playbooks refuse user:pass@ in URLs; this catches any a check echoes all the same.
      const clean = scrubDeep(out, redactUserinfo);
      const result: CheckResult = { name, ...clean, duration_ms: Math.round(performance.now() - started) };
      log.debug({ status: result.status, duration_ms: result.duration_ms }, 'check finished');
      opts.onResult?.(result);
      return result;
    };
    if (!check) return finish({ status: 'skipped', summary: `no ${name} check is available`, evidence: [] });
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, total]);
    try {
      const ctx: CheckContext = {
        ...opts,
        service: playbook.service,
        signal,
        log,
        timeoutMs: check_ms,
      };
      const config = playbook.checks[name] as NonNullable<Playbook['checks'][CheckName]>;
      const out = await Promise.race([
        check.run(config as never, ctx),
        timeout(check_ms, name, controller),
        whenAborted(signal),
      ]);
      return finish(out);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'check failed');
      return finish({
        status: 'error',
        summary: `${name} check could not run: ${errorMessage(err)}`,
        evidence: [],
      });
    } finally {
      controller.abort();
    }
  };

  return Promise.all(names.map(runOne));
}
