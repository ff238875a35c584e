import { formatBytes } from '../../checks/kubernetes/quantity.js';
import { clamp, percent, troubleSeen } from '../evidence.js';
import {
  kubeRollout,
  type OomKill,
  ofCurrentRevision,
  oomKills,
  rolloutChanges,
  rolloutName,
} from '../kubernetes.js';
import type { Rule } from '../types.js';
import { memorySaturation } from './k8s-saturated.js';

function killText(k: OomKill): string {
  const t = k.container.last_terminated!;
  const limit = k.container.memory_limit_bytes
    ? ` at its ${formatBytes(k.container.memory_limit_bytes)} limit`
    : '';
  const ran = t.ran_minutes !== null ? ` after running ${t.ran_minutes} min` : '';
  return `${k.pod.name} (container ${k.container.name}) OOMKilled${limit}${ran}, ${t.minutes_before_onset} min before the 502s`;
}

/** Back at half its limit sooner than its last run lasted: the memory climbs again after the restart. */
function climbing(k: OomKill, now: number): string | null {
  const c = k.container;
  const ran = c.last_terminated?.ran_minutes;
  if (c.memory_ratio === null || !c.started_at || !ran) return null;
  const up = (now - Date.parse(c.started_at)) / 60_000;
  if (!Number.isFinite(up) || c.memory_ratio < 0.5 || up >= ran) return null;
  return `${k.pod.name} is back at ${percent(c.memory_ratio)} of its limit ${Math.max(1, Math.round(up))} min after restarting`;
}

/**
 * Containers OOMKilled after a rollout, the kills in the new revision's pods:
 * the new code leaks (or needs more memory than its limit). Kills with no
 * rollout before them, or in the old revision's pods too, do not point at the
 * deploy: said at moderate confidence, or left to the saturation rule when
 * every pod sits at its limit under load.
 */
export const k8sMemoryLeak: Rule = (ev) => {
  const kills = oomKills(ev);
  if (kills.length === 0) return null;
  const rollout = kubeRollout(ev);
  const deploy = rolloutChanges(ev)[0];
  const newKills = kills.filter((k) => ofCurrentRevision(ev, k.pod));
  const oldKills = rollout?.template_hash ? kills.filter((k) => !ofCurrentRevision(ev, k.pod)) : [];
  const saturated = memorySaturation(ev);
  const seen = troubleSeen(ev);
  const list = kills.map(killText).join('; ');
  const climb = kills.map((k) => climbing(k, Date.now())).filter((x): x is string => x !== null);
  const actions = [
    `Read the killed container's last log lines: \`kubectl logs ${kills[0]!.pod.name} -c ${kills[0]!.container.name} --previous\`.`,
    'Take a heap profile of the new revision under traffic before its next kill, and compare it with the previous revision.',
    'Raising the memory limit only buys time if memory keeps climbing between restarts.',
  ];
  if (deploy && rollout && newKills.length > 0 && oldKills.length === 0) {
    if (saturated)
      return {
        cause: 'unknown',
        confidence: 0.35,
        summary: `The evidence conflicts: ${list}, after ${rolloutName(rollout)}, yet every ready pod sits at its memory limit under load (${saturated.text}): a leak in the new revision, or the load outgrowing the limit.`,
        actions: [
          `Compare the memory per request of revision ${rollout.revision ?? 'new'} with the previous revision before deciding between a rollback and more replicas.`,
          ...actions,
        ],
      };
    return {
      cause: 'memory_leak',
      confidence: clamp(
        (seen === false ? 0.65 : 0.8) + (seen === true ? 0.05 : 0) + (climb.length ? 0.05 : 0),
      ),
      summary: `${list}, ${deploy.minutes_before_onset} min after ${rolloutName(rollout)} began rolling out${climb.length ? `; ${climb.join('; ')}` : ''}: the new revision runs out of memory and restarts.`,
      actions,
    };
  }
  if (saturated) return null;
  const why =
    oldKills.length > 0 && newKills.length > 0
      ? 'pods of both the old and the new revision were killed, so the rollout does not explain it'
      : 'no rollout began in the window before it';
  return {
    cause: 'memory_leak',
    confidence: 0.5,
    summary: `${list}; ${why}: a slow leak, or a limit too small for the work — the pods' memory over the hours before would tell.`,
    actions: [
      "Chart the pods' working set (container_memory_working_set_bytes) over the last day: a steady climb to the limit is a leak, a jump with traffic is load.",
      ...actions,
    ],
  };
};
