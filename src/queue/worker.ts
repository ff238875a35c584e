import { type Job, Worker } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { type DiagnoseDeps, diagnoseIncident } from './diagnose.js';
import { type JobData, QUEUE_NAME } from './jobs.js';
import { announceJoiners, type LifecycleDeps, sweepIncidents, syncRootMessage } from './lifecycle.js';

export interface WorkerDeps extends DiagnoseDeps, LifecycleDeps {
  digest?: (data: Extract<JobData, { kind: 'digest' }>, log: Logger) => Promise<unknown>;
}

/** What each kind of job does; the worker only dispatches. */
export async function processJob(job: Job<JobData>, deps: WorkerDeps): Promise<unknown> {
  const log = deps.log.child({ job: job.id, kind: job.data.kind, attempt: job.attemptsMade + 1 });
  const scoped = { ...deps, log };
  switch (job.data.kind) {
    case 'diagnose': {
      const v = await diagnoseIncident(job.data, scoped);
      return v ? { cause: v.cause, recommendation: v.recommendation } : null;
    }
    case 'sync-root':
      return syncRootMessage(job.data, scoped);
    case 'announce':
      return announceJoiners(job.data, scoped);
    case 'sweep':
      return { ended: (await sweepIncidents(scoped)).length };
    case 'digest':
      if (!deps.digest) throw new Error('this worker has no digest support configured');
      return deps.digest(job.data, log);
  }
}

export function createWorker(
  connection: Redis | Cluster,
  prefix: string,
  deps: WorkerDeps,
  opts: { concurrency?: number; queueName?: string; lockMs?: number; stalledIntervalMs?: number } = {},
): Worker<JobData> {
  const worker = new Worker<JobData>(opts.queueName ?? QUEUE_NAME, (job) => processJob(job, deps), {
    connection,
    prefix,
    concurrency: opts.concurrency ?? 4,
    // Diagnoses last seconds; a lock this long survives a slow check, a crashed worker's job comes back quickly.
    lockDuration: opts.lockMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 15_000,
    maxStalledCount: 2,
  });
  worker.on('failed', (job, err) =>
    deps.log.warn({ job: job?.id, err: err.message, attempts: job?.attemptsMade }, 'job failed'),
  );
  worker.on('error', (err) => deps.log.error({ err: err.message }, 'worker error'));
  return worker;
}
