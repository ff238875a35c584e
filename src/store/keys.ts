/**
 * Every Redis key of gatewatch's own state, in one place. All share the prefix,
 * whose `{hash tag}` keeps them in one Redis Cluster slot, so a Lua script may
 * build keys from the layout (LAYOUT_SUFFIXES after the prefix) as well as use the keys it is given.
 */
export interface KeyLayout {
  /** Incident hash, by incident id. */
  incident: string;
  /** Alerts of an incident still firing (set of `source:key`), by incident id. */
  firing: string;
  /** Upstream incidents that joined an incident (hash `source:key` → JSON), by incident id. */
  members: string;
  /** Members that joined after a verdict and still wait to be told it, by incident id. */
  pending: string;
  /** The open incident of a service, by service. */
  open: string;
  /** Gate of one root-message sync per window, by incident id. */
  rootsync: string;
  /** Open incidents (one set), for the lifecycle sweep. */
  live: string;
}

/** What follows the prefix in each layout key; scripts.ts builds the same table in Lua from it. */
export const LAYOUT_SUFFIXES: Readonly<KeyLayout> = {
  incident: ':incident:',
  firing: ':firing:',
  members: ':members:',
  pending: ':pending:',
  open: ':open:',
  rootsync: ':rootsync:',
  live: ':live',
};

function layoutOf(prefix: string): KeyLayout {
  const layout = {} as KeyLayout;
  for (const [name, suffix] of Object.entries(LAYOUT_SUFFIXES))
    layout[name as keyof KeyLayout] = prefix + suffix;
  return layout;
}

export function incidentKeys(prefix: string) {
  const layout = layoutOf(prefix);
  return {
    prefix,
    incident: (id: string) => layout.incident + id,
    firing: (id: string) => layout.firing + id,
    members: (id: string) => layout.members + id,
    pending: (id: string) => layout.pending + id,
    open: (service: string) => layout.open + service,
    live: layout.live,
    /** A sender's key (source:key) → the incident it opened or joined. */
    alias: (source: string, key: string) => `${prefix}:alias:${source}:${key}`,
    /** The onset of an alert that ended, so a delayed retry of its firing is not a new incident. */
    ended: (source: string, key: string) => `${prefix}:ended:${source}:${key}`,
    /** Time index of incidents by first alert: all, or one service's. */
    index: (service?: string) => (service ? `${prefix}:index:${service}` : `${prefix}:index`),
    /** A note once per PagerDuty incident, gatewatch incident and run. */
    note: (externalId: string, incidentId: string, run: number) =>
      `${prefix}:pd-note:${externalId}:${incidentId}:${run}`,
    /** A sender's delivery id, for retries. */
    delivery: (source: string, id: string) => `${prefix}:delivery:${source}:${id}`,
    /** Slack posts announced before they are sent, by incident id. */
    slackPosting: (id: string) => `${prefix}:slack-posting:${id}`,
    slackChannels: `${prefix}:slack-channels`,
    /** Set while the root message of an incident was edited for its count or state less than a gap ago. */
    rootEdit: (id: string) => `${prefix}:root-edit:${id}`,
    /** Held by the one attempt posting `what` (root, verdict:RUN) of an incident right now. */
    slackLease: (id: string, what: string) => `${prefix}:slack-lease:${id}:${what}`,
  };
}

export type IncidentKeys = ReturnType<typeof incidentKeys>;
