import type { Job, Worker } from 'bullmq';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';

export interface WorkerShutdown {
  /**
   * Stops taking jobs and waits up to `timeoutMs` for the ones running to
   * finish; any still running then are handed back to the queue (moved to
   * waiting) for another worker, instead of waiting out their lock.
   */
  close(timeoutMs: number): Promise<'drained' | 'handed-back'>;
}

/** Follows the jobs a worker holds, so a shutdown that runs out of time knows what to hand back. */
export function gracefulWorker(worker: Worker, log: Logger): WorkerShutdown {
  const active = new Map<string, Job>();
  worker.on('active', (job) => {
    if (job.id) active.set(job.id, job);
  });
  const settle = (job: Job | undefined) => {
    if (job?.id) active.delete(job.id);
  };
  worker.on('completed', settle);
  worker.on('failed', settle);

  return {
    async close(timeoutMs) {
      // With nothing in flight there is nothing to wait for; a forced close also skips waiting
      // out a blocking fetch, which after a Redis restart can take the whole timeout.
      const drained = worker.close(active.size === 0).then(() => true);
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const finished = await Promise.race([drained, expired]);
      clearTimeout(timer);
      if (finished) return 'drained';
      for (const job of [...active.values()]) {
        try {
          await job.moveToWait(job.token);
          log.warn({ job: job.id, kind: job.name }, 'shutdown: job handed back to the queue');
        } catch (err) {
          // Already finished or lost its lock: BullMQ's stalled-job check recovers it either way.
          log.warn({ job: job.id, err: errorMessage(err) }, 'shutdown: could not hand the job back');
        }
      }
      // Don't await the graceful close any further: the process is about to exit.
      drained.catch(() => {});
      return 'handed-back';
    },
  };
}
