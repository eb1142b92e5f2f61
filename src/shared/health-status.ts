/**
 * The data plane's view of each MCP backend's targets as a status condition: `Healthy` on the
 * backend object, True while every target answers, False naming the targets that are down. It is
 * laid over translate()'s statuses (which cannot know it: they are computed from the store alone)
 * before they reach the status writer, so only the leader writes it, from its own view.
 */
import { KINDS } from './resources.js';
import { type Condition, type ObjectStatus, Reason } from './status.js';

/** Backend id (`<group>/<Kind>/<namespace>/<name>`) → names of its targets that are down. */
export type DownTargets = ReadonlyMap<string, readonly string[]>;

/** Targets named in one condition message, at most (the rest are counted). */
const MAX_NAMED = 10;

export function withTargetHealth(
  statuses: readonly ObjectStatus[],
  down: DownTargets,
): readonly ObjectStatus[] {
  if (down.size === 0) return statuses;
  return statuses.map((entry) => {
    const { ref } = entry;
    const targets = down.get(`${KINDS[ref.kind].group}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`);
    const conditions = entry.status.conditions;
    if (targets === undefined || !Array.isArray(conditions)) return entry;
    return { ...entry, status: { ...entry.status, conditions: [...conditions, healthy(targets)] } };
  });
}

function healthy(down: readonly string[]): Condition {
  if (down.length === 0)
    return {
      type: 'Healthy',
      status: 'True',
      reason: Reason.TargetsHealthy,
      message: 'Every target answers',
    };
  const named = down.slice(0, MAX_NAMED).join(', ');
  const more = down.length > MAX_NAMED ? ` and ${down.length - MAX_NAMED} more` : '';
  return {
    type: 'Healthy',
    status: 'False',
    reason: Reason.TargetsDown,
    message: `Targets down (consecutive failed requests or probes; left out of merged lists after --upstream-down-grace): ${named}${more}`,
  };
}
