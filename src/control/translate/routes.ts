/**
 * HTTPRoute step: attach to our listeners, resolve backendRefs, emit one IR Route per
 * (effective hostname × match), and the route's `parents[]` status.
 *
 * Route ids are `<ns>/<route>/<rule>/<match>`. When a route answers for several hostnames on one
 * port, each entry's id gets `/<hostname>` appended so ids stay unique per listener.
 */
import { objectKey } from '../../shared/object-key.js';
import type { HTTPRoute } from '../../shared/resources.js';
import { type Condition, Reason } from '../../shared/status.js';
import type { Route, RouteAction } from '../../shared/table.js';
import { type RefOutcome, resolveBackendRef, ruleAction } from './backend-refs.js';
import type { McpBackends } from './backends/index.js';
import { condition, type StatusBook } from './conditions.js';
import type { GatewayModel } from './gateways.js';
import { matchProblems, ruleMatches } from './matches.js';
import { attachParents, type ParentResult } from './parents.js';
import type { RouteEntry } from './precedence.js';
import type { World } from './world.js';

export interface RouteStep {
  /** Unsorted entries per listener port. */
  readonly entriesByPort: ReadonlyMap<number, readonly RouteEntry[]>;
  /** Distinct routes attached, per listener key `<ns>/<gw>/<listener>`. */
  readonly attachedRoutes: ReadonlyMap<string, number>;
}

function resolvedRefsCondition(outcomes: readonly RefOutcome[], generation: number | undefined): Condition {
  const failed = outcomes.filter((o) => !o.result.ok);
  const first = failed[0]?.result;
  if (!first || first.ok)
    return condition('ResolvedRefs', true, Reason.ResolvedRefs, 'All references resolved', generation);
  const messages = failed.map((o) => (o.result.ok ? '' : o.result.message));
  return condition('ResolvedRefs', false, first.reason, messages.join('; '), generation);
}

function parentStatus(
  parent: ParentResult,
  resolvedRefs: Condition,
  invalidMatches: readonly string[],
  controllerName: string,
  generation: number | undefined,
): Record<string, unknown> {
  const listeners = parent.attachments.map((a) => a.listener.spec.name).join(', ');
  const accepted =
    invalidMatches.length > 0
      ? condition('Accepted', false, Reason.UnsupportedValue, invalidMatches.join('; '), generation)
      : parent.problem
        ? condition('Accepted', false, parent.problem.reason, parent.problem.message, generation)
        : condition('Accepted', true, Reason.Accepted, `Accepted by listener(s) ${listeners}`, generation);
  return { parentRef: parent.parentRef, controllerName, conditions: [accepted, resolvedRefs] };
}

type Rule = NonNullable<HTTPRoute['spec']['rules']>[number];

/** The CRD defaults a missing `rules` to one rule matching PathPrefix `/`; files may omit it. */
const DEFAULT_RULES: readonly Rule[] = [{}];

function emitEntries(
  route: HTTPRoute,
  rules: readonly Rule[],
  parents: readonly ParentResult[],
  actions: readonly RouteAction[],
  step: MutableStep,
): void {
  const routeName = `${route.metadata.namespace}/${route.metadata.name}`;
  const hostsByPort = new Map<number, Set<string>>();
  const listenersByPort = new Map<number, Set<string>>();
  for (const { listener, hostnames } of parents.flatMap((p) => p.attachments)) {
    const attached = step.attached.get(listener.key) ?? new Set<string>();
    attached.add(routeName);
    step.attached.set(listener.key, attached);
    const hosts = hostsByPort.get(listener.spec.port) ?? new Set<string>();
    for (const h of hostnames) hosts.add(h);
    hostsByPort.set(listener.spec.port, hosts);
    const keys = listenersByPort.get(listener.spec.port) ?? new Set<string>();
    keys.add(listener.key);
    listenersByPort.set(listener.spec.port, keys);
  }
  for (const [port, hosts] of hostsByPort) {
    const entries = step.entries.get(port) ?? [];
    step.entries.set(port, entries);
    const listeners = [...(listenersByPort.get(port) ?? [])].sort();
    for (const hostname of hosts) {
      rules.forEach((rule, r) => {
        ruleMatches(rule).forEach((match, m) => {
          const id = `${routeName}/${r}/${m}${hosts.size > 1 ? `/${hostname}` : ''}`;
          const action = actions[r]!;
          const entry: Route = { id, routeName, hostname, ...match, action };
          entries.push({
            route: entry,
            createdAt: route.metadata.creationTimestamp ?? '',
            rule: r,
            match: m,
            listeners,
            ...(rule.name === undefined ? {} : { ruleName: rule.name }),
          });
        });
      });
    }
  }
}

interface MutableStep {
  readonly entries: Map<number, RouteEntry[]>;
  readonly attached: Map<string, Set<string>>;
}

export function translateRoutes(
  world: World,
  gateways: readonly GatewayModel[],
  backends: McpBackends,
  book: StatusBook,
): RouteStep {
  const byName = new Map(
    gateways.map((g) => [objectKey(g.gateway.metadata.namespace, g.gateway.metadata.name), g]),
  );
  const step: MutableStep = { entries: new Map(), attached: new Map() };
  for (const route of world.routes) {
    const parents = attachParents(world, route, byName);
    if (parents.length === 0) continue; // not ours: no status, no entries
    const generation = route.metadata.generation;
    const routeName = `${route.metadata.namespace}/${route.metadata.name}`;
    const rules = route.spec.rules ?? DEFAULT_RULES;
    const outcomes = rules.map((rule) =>
      (rule.backendRefs ?? []).map((ref) => resolveBackendRef(world, backends, route, ref)),
    );
    const actions = outcomes.map((o, r) => ruleAction(o, `rule ${r} of HTTPRoute ${routeName}`));
    const invalidMatches = matchProblems(route);
    const accepted = invalidMatches.length === 0 && parents.some((p) => p.attachments.length > 0);
    if (accepted) {
      for (const o of outcomes.flat()) {
        if (o.result.ok && o.kind) backends.markReferenced(o.kind, o.namespace, o.name);
      }
      emitEntries(route, rules, parents, actions, step);
    }
    const resolvedRefs = resolvedRefsCondition(outcomes.flat(), generation);
    book.set('HTTPRoute', route.metadata, {
      parents: parents.map((p) =>
        parentStatus(p, resolvedRefs, invalidMatches, world.options.controllerName, generation),
      ),
    });
  }
  const attachedRoutes = new Map([...step.attached].map(([key, names]) => [key, names.size]));
  return { entriesByPort: step.entries, attachedRoutes };
}
