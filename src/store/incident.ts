import type { Verdict } from '../verdict/types.js';

export type IncidentState = 'triggered' | 'diagnosing' | 'diagnosed' | 'acknowledged' | 'resolved';

/** One real problem of one service, however many alerts it raised. */
export interface Incident {
  id: string;
  service: string;
  source: string;
  /** The sender's id for it (PagerDuty incident id, …), used to call the sender back. */
  externalId: string;
  title: string;
  url: string | null;
  state: IncidentState;
  /** When the 502s began (the alert's own start). */
  onsetAt: string;
  firstAlertAt: string;
  lastAlertAt: string;
  alertCount: number;
  /** Diagnosis runs: 1 for the first, +1 for each reopen or re-run. */
  run: number;
  diagnosingAt: string | null;
  verdictAt: string | null;
  acknowledgedAt: string | null;
  resolvedAt: string | null;
  verdict: Verdict | null;
  /** Slack thread: channel id and root message ts, stored so a retry never posts twice. */
  channel: string | null;
  rootTs: string | null;
  /** ts of the verdict reply per run, as "run:ts". */
  verdictTs: string | null;
  /** Set when the incident came from `/gateway check` rather than an alert. */
  requestedBy: string | null;
  feedback: string | null;
  /** Why the incident ended: the source resolved it, it stayed quiet after recovering, it grew too old, a person, or a check run's verdict. */
  endReason?: EndReason | null;
  /** The ending in words, for the root message ("resolved by <@U1> in Slack"). */
  endNote?: string | null;
}

export type EndReason = 'source' | 'quiet' | 'max-age' | 'manual' | 'check';

/** Another service's open incident that began near this one: the outage may be one, shared. */
export interface RelatedIncident {
  id: string;
  service: string;
  /** Its latest verdict's cause; null while its first diagnosis runs. */
  cause: string | null;
}

/** An upstream incident (PagerDuty incident, alert, generic id) that opened or joined a gatewatch incident. */
export interface Member {
  source: string;
  key: string;
  title: string;
  url: string | null;
  joinedAt: string;
}

/** Members named by a message: at most a few hundred of them, and how many there are in all. */
export interface MemberList {
  shown: Member[];
  total: number;
}

const NUMBERS = new Set(['alertCount', 'run']);
const JSONS = new Set(['verdict']);

export function toHash(fields: Partial<Incident>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = v === null ? '' : JSONS.has(k) ? JSON.stringify(v) : String(v);
  }
  return out;
}

export function fromHash(h: Record<string, string>): Incident | null {
  if (!h.id) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) {
    // `_` fields are the Lua scripts' own bookkeeping (times in ms), not part of the record.
    if (k.startsWith('_')) continue;
    if (NUMBERS.has(k)) out[k] = Number(v);
    else if (v === '') out[k] = null;
    else if (JSONS.has(k)) out[k] = JSON.parse(v);
    else out[k] = v;
  }
  return {
    url: null,
    diagnosingAt: null,
    verdictAt: null,
    acknowledgedAt: null,
    resolvedAt: null,
    verdict: null,
    channel: null,
    rootTs: null,
    verdictTs: null,
    requestedBy: null,
    feedback: null,
    endReason: null,
    endNote: null,
    ...out,
  } as Incident;
}

export function isOpen(i: Pick<Incident, 'state'>): boolean {
  return i.state !== 'resolved';
}
