/**
 * Status of an MCP backend we serve: Accepted, ResolvedRefs, and a condition per kind of note.
 * kgateway `Backend` (whose status we own outright) also lists its targets.
 */
import { type Condition, Reason } from '../../../shared/status.js';
import type { McpTarget } from '../../../shared/table.js';
import { condition } from '../conditions.js';
import type { BuiltBackend } from './targets.js';

function describeTarget(target: McpTarget): string {
  if (target.source === 'static') return `${target.name} (static ${target.host}:${target.port})`;
  const n = target.endpoints.length;
  return n > 0
    ? `${target.name} (${n} endpoint${n === 1 ? '' : 's'})`
    : `${target.name} (0 endpoints, dials ${target.host}:${target.port})`;
}

function resolvedRefs(built: BuiltBackend, generation: number | undefined): Condition {
  const { failure, notes, backend } = built;
  if (failure) {
    return condition(
      'ResolvedRefs',
      false,
      failure.reason,
      'targets not resolved: the backend is not accepted',
      generation,
    );
  }
  const n = backend.targets.length;
  const resolved = `${n} target${n === 1 ? '' : 's'}${n > 0 ? `: ${backend.targets.map(describeTarget).join(', ')}` : ''}`;
  if (notes.unmatched.length > 0) {
    return condition(
      'ResolvedRefs',
      false,
      Reason.NoMatchingServices,
      `${notes.unmatched.join('; ')}; ${resolved}`,
      generation,
    );
  }
  return condition('ResolvedRefs', true, Reason.TargetsResolved, resolved, generation);
}

export function backendConditions(built: BuiltBackend): Condition[] {
  const generation = built.spec.metadata.generation;
  const { failure, notes } = built;
  const conditions = [
    failure
      ? condition('Accepted', false, failure.reason, failure.message, generation)
      : condition('Accepted', true, Reason.Accepted, 'Backend accepted', generation),
    resolvedRefs(built, generation),
  ];
  if (notes.collisions.length > 0) {
    conditions.push(
      condition('Conflicted', true, Reason.TargetNameCollision, notes.collisions.join('; '), generation),
    );
  }
  if (notes.invalidNames.length > 0) {
    conditions.push(
      condition(
        'InvalidTargetNames',
        true,
        Reason.InvalidTargetName,
        notes.invalidNames.join('; '),
        generation,
      ),
    );
  }
  if (notes.unknownAnnotations.length > 0) {
    conditions.push(
      condition(
        'UnknownAnnotations',
        true,
        Reason.UnknownAnnotation,
        `${notes.unknownAnnotations.join('; ')} (known: agentgateway.dev/mcp-target-name, agentgateway.dev/mcp-path, kgateway.dev/mcp-path)`,
        generation,
      ),
    );
  }
  return conditions;
}

export function backendStatus(built: BuiltBackend): Record<string, unknown> {
  const conditions = backendConditions(built);
  if (built.spec.kind !== 'Backend') return { conditions };
  return {
    conditions,
    targets: built.backend.targets.map((t) => ({
      name: t.name,
      source: t.source,
      endpoints: t.endpoints.length,
    })),
  };
}
