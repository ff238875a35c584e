import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../log.js';

export const QUEUE_NAME = 'gatewatch';

export type JobData =
  | { kind: 'diagnose'; incidentId: string; run: number }
  | { kind: 'sync-root'; incidentId: string }
  | { kind: 'announce'; incidentId: string }
  | { kind: 'sweep' }
  | { kind: 'digest'; week?: string; channel?: string };

export type JobKind = JobData['kind'];

/** The two-second window in which edits of one root message are coalesced into one. */
export const ROOT_SYNC_MS = 2000;

/** A little over ROOT_SYNC_MS, so timer jitter never brings two count edits closer than the window. */
const ROOT_EDIT_DELAY_MS = ROOT_SYNC_MS + 250;
/** Joiners told the verdict within this window share one message. */
const ANNOUNCE_WINDOW_MS = 1000;

/** The jobs gatewatch puts on its queue; ids make every enqueue idempotent. */
export class JobQueue {
  readonly queue: Queue<JobData>;
  readonly rootSyncWindowMs = ROOT_SYNC_MS;

  constructor(connection: Redis | Cluster, prefix: string, name = QUEUE_NAME, log?: Pick<Logger, 'error'>) {
    this.queue = new Queue<JobData>(name, {
      connection,
      prefix,
      defaultJobOptions: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        // Keep finished jobs long enough to make re-adds of the same id no-ops, but bounded.
        removeOnComplete: { age: 24 * 3600, count: 5000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
      },
    });
    // Connection errors surface on the calls that fail (a webhook answers 503); logging each would
    // flood the log during an outage. Anything else (a password Redis wants, a script error) is logged.
    this.queue.on('error', (err) => {
      if (!isConnectionError(err)) log?.error({ err: err.message, queue: name }, 'queue error');
    });
  }

  diagnose(incidentId: string, run: number) {
    return this.queue.add(
      'diagnose',
      { kind: 'diagnose', incidentId, run },
      { jobId: `diagnose:${incidentId}:${run}` },
    );
  }

  /** Debounced: many calls within the window become one edit that reads the latest state. */
  syncRoot(incidentId: string) {
    return this.queue.add(
      'sync-root',
      { kind: 'sync-root', incidentId },
      {
        delay: ROOT_SYNC_MS,
        deduplication: { id: `sync-root:${incidentId}`, ttl: ROOT_SYNC_MS },
        removeOnComplete: true,
        removeOnFail: { count: 1000 },
      },
    );
  }

  /**
   * The root edit of one sync window, run when the window closes so it shows every alert that
   * joined in it. One job id per window rather than the queue's deduplication: that window opens a
   * moment after the join script's gate, so it could swallow the request meant for the storm's last alerts.
   */
  syncRootWindow(incidentId: string, windowStart: number) {
    return this.queue.add(
      'sync-root',
      { kind: 'sync-root', incidentId },
      {
        jobId: `sync-root:${incidentId}:${windowStart}`,
        // Never shorter than the gate's window: the edit must run after every join the gate held back.
        delay: ROOT_EDIT_DELAY_MS,
        removeOnComplete: true,
        removeOnFail: { count: 1000 },
      },
    );
  }

  /**
   * Tells the incident's newly joined members the verdict. Deduplicated only while the job waits:
   * a member that joins once it runs gets a job of its own.
   */
  announceJoiners(incidentId: string) {
    return this.queue.add(
      'announce',
      { kind: 'announce', incidentId },
      {
        delay: ANNOUNCE_WINDOW_MS,
        deduplication: { id: `announce:${incidentId}`, ttl: ANNOUNCE_WINDOW_MS },
        removeOnComplete: true,
        removeOnFail: { count: 1000 },
      },
    );
  }

  /** A `/gateway digest` run, posted to the channel it was typed in. */
  digestNow(channel: string) {
    return this.queue.add('digest', { kind: 'digest', channel });
  }

  /** The lifecycle sweep (max age, quiet after recovery) every `everyMs`; one schedule whoever upserts it. */
  scheduleSweep(everyMs: number) {
    return this.queue.upsertJobScheduler(
      'lifecycle-sweep',
      { every: everyMs },
      {
        name: 'sweep',
        data: { kind: 'sweep' },
        opts: { removeOnComplete: true, removeOnFail: { count: 100 } },
      },
    );
  }

  /**
   * The weekly digest on DIGEST_CRON in DIGEST_TZ. Every worker may upsert it: the
   * scheduler id is fixed, so there is one schedule and one job per iteration.
   */
  scheduleDigest(pattern: string, tz: string) {
    return this.queue.upsertJobScheduler(
      'weekly-digest',
      { pattern, tz },
      { name: 'digest', data: { kind: 'digest' } },
    );
  }

  close() {
    return this.queue.close();
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/** Redis unreachable or the link dropped: an outage, which the calls that fail already report. */
function isConnectionError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return (
    (code !== undefined && CONNECTION_CODES.has(code)) ||
    err.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable/.test(err.message)
  );
}
