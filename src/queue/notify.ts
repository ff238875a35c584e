import type { CheckResult } from '../checks/types.js';
import type { Incident, Member, MemberList, RelatedIncident } from '../store/incident.js';
import type { Verdict } from '../verdict/types.js';

/** Live progress of a run's checks, coalesced by whoever shows it. */
export interface ProgressSink {
  update(progress: { planned: string[]; done: CheckResult[] }): void;
  /** Waits for the last edit in flight, dropping pending ones: the verdict's edit comes next. */
  flush(): Promise<void>;
}

/**
 * Where incidents are told (Slack, PagerDuty): handed to the queue's jobs by
 * main.ts, so the queue never imports its readers. Every call is idempotent per
 * incident and run: a retried job never posts or notes twice.
 */
export interface IncidentNotifier {
  /** The incident's root message exists (posted once); then the run's live progress. */
  opened(inc: Incident, channel: string | undefined): Promise<ProgressSink>;
  /**
   * The run's verdict: a reply naming every member it covers (and other services' incidents that began
   * near it), the root's final edit, a note on each PagerDuty member.
   */
  verdict(
    inc: Incident,
    verdict: Verdict,
    covered: MemberList,
    related?: readonly RelatedIncident[],
  ): Promise<void>;
  /** Members that joined after the verdict: one reply naming them with it, a note on each PagerDuty member. */
  joined(inc: Incident, verdict: Verdict, members: readonly Member[]): Promise<void>;
  /** Edits the root message to show the incident as it is now (alerts, state, how it ended). */
  sync(inc: Incident): Promise<void>;
}
