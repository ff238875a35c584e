import type { Cause, Recommendation } from '../verdict/types.js';

/** What gatewatch recommended, plus incidents that never got a verdict. */
export type VerdictMix = Record<Recommendation | 'no_verdict', number>;

export interface CauseCount {
  cause: Cause;
  count: number;
}

/** The figures of one week, for one service or for all. Durations in ms; null when nothing to average. */
export interface WeekStats {
  incidents: number;
  /** Still open when the digest was built. */
  open: number;
  /** Time answering 502, onset → resolve, summed; an open incident counts up to the week's end or now, whichever is first. */
  badGatewayMs: number;
  /** Mean onset → acknowledged over acknowledged incidents. */
  mttaMs: number | null;
  /** Mean onset → resolved over resolved incidents. */
  mttrMs: number | null;
  verdictMix: VerdictMix;
  /** By the cause that held: a person's correction where a verdict was marked wrong, else the verdict's. */
  causes: CauseCount[];
  withVerdict: number;
  markedWrong: number;
  /** Verdicts a person gave feedback on (said which cause was right). */
  reviewed: number;
  /** Verdicts nobody reviewed: neither right nor wrong as far as gatewatch knows. */
  notReviewed: number;
  /** Share of reviewed verdicts not marked wrong; null when nobody reviewed any. */
  accuracy: number | null;
}

/** Do we need bigger servers? A service's incidents over the last weeks, by what would have cured them. */
export interface CapacityQuestion {
  weeks: number;
  incidents: number;
  /** Incidents a scale-up would have cured (the cause that held asks for one). */
  scaleUp: number;
  /** Incidents that needed a fix. */
  fix: number;
  /** Recovered, unclear, or without a verdict. */
  other: number;
  /** Fixable causes seen more than once: the fix so far did not reach the root. */
  recurringFixes: CauseCount[];
}

/** This week against the one before: positive means more. */
export interface WeekChange {
  previous: Pick<WeekStats, 'incidents' | 'badGatewayMs' | 'mttrMs'>;
  incidents: number;
  badGatewayMs: number;
  /** null when either week has no resolved incident. */
  mttrMs: number | null;
}

export interface ServiceDigest extends WeekStats {
  service: string;
  change: WeekChange;
  /** The service's headline: scale-up against fix over the last CAPACITY_WEEKS weeks. */
  lastWeeks: CapacityQuestion;
}

export interface OpenIncident {
  id: string;
  service: string;
  onsetAt: string;
  cause: Cause | null;
}

/** One local day of the week: incidents by the cause that held ('no_verdict' for undiagnosed ones). */
export interface DayBucket {
  date: string;
  byCause: Partial<Record<Cause | 'no_verdict', number>>;
}

export interface Digest {
  week: string;
  tz: string;
  start: string;
  end: string;
  generatedAt: string;
  overall: WeekStats & { change: WeekChange };
  /** Most incidents first. */
  services: ServiceDigest[];
  /** Services with REPEAT_OFFENDER_MIN incidents or more this week. */
  repeatOffenders: { service: string; incidents: number }[];
  recommendations: string[];
  openIncidents: OpenIncident[];
  days: DayBucket[];
}
