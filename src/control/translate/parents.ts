/**
 * Route attachment: which listeners of our Gateways an HTTPRoute's parentRefs bind to, and why not.
 * Checks run in Gateway API order: sectionName/port → listener served → allowedRoutes → hostnames.
 */
import { compileSelector, SelectorError } from '../../shared/labels.js';
import { objectKey } from '../../shared/object-key.js';
import type { HTTPRoute, ParentRef } from '../../shared/resources.js';
import { Reason } from '../../shared/status.js';
import { GATEWAY_GROUP, type GatewayModel, type ListenerModel, type Problem } from './gateways.js';
import { intersectHostnames } from './hostnames.js';
import { labelsOfNamespace, type World } from './world.js';

export interface NormalisedParentRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

export interface Attachment {
  readonly listener: ListenerModel;
  /** Effective hostnames on this listener (never empty). */
  readonly hostnames: readonly string[];
}

export interface ParentResult {
  readonly parentRef: NormalisedParentRef;
  readonly gateway: GatewayModel;
  /** Non-empty iff the parent accepted the route. */
  readonly attachments: readonly Attachment[];
  readonly problem?: Problem;
}

export function normaliseParentRef(ref: ParentRef, routeNamespace: string): NormalisedParentRef {
  return {
    group: ref.group ?? GATEWAY_GROUP,
    kind: ref.kind ?? 'Gateway',
    namespace: ref.namespace ?? routeNamespace,
    name: ref.name,
    ...(ref.sectionName === undefined ? {} : { sectionName: ref.sectionName }),
    ...(ref.port === undefined ? {} : { port: ref.port }),
  };
}

/** Undefined when allowed, else why not. */
function namespaceRefusal(world: World, listener: ListenerModel, routeNamespace: string): string | undefined {
  const namespaces = listener.spec.allowedRoutes?.namespaces;
  const from = namespaces?.from ?? 'Same';
  if (from === 'All') return undefined;
  if (from === 'Same') {
    const gatewayNamespace = listener.gateway.metadata.namespace ?? '';
    return routeNamespace === gatewayNamespace
      ? undefined
      : `listener ${listener.spec.name} only allows routes from namespace "${gatewayNamespace}" (allowedRoutes.namespaces.from: Same)`;
  }
  try {
    const matches = compileSelector(namespaces?.selector ?? {});
    return matches(labelsOfNamespace(world, routeNamespace))
      ? undefined
      : `listener ${listener.spec.name} does not select namespace "${routeNamespace}" (allowedRoutes.namespaces.selector)`;
  } catch (error) {
    if (!(error instanceof SelectorError)) throw error;
    return `listener ${listener.spec.name} has an invalid allowedRoutes.namespaces.selector: ${error.message}`;
  }
}

function describeNarrowing(ref: NormalisedParentRef): string {
  const parts = [];
  if (ref.sectionName !== undefined) parts.push(`named "${ref.sectionName}"`);
  if (ref.port !== undefined) parts.push(`on port ${ref.port}`);
  return parts.join(' ');
}

function attach(
  world: World,
  route: HTTPRoute,
  ref: NormalisedParentRef,
  gateway: GatewayModel,
): ParentResult {
  const base = { parentRef: ref, gateway };
  const gatewayName = `${ref.namespace}/${ref.name}`;
  const candidates = gateway.listeners.filter(
    (l) =>
      (ref.sectionName === undefined || l.spec.name === ref.sectionName) &&
      (ref.port === undefined || l.spec.port === ref.port),
  );
  const fail = (reason: Problem['reason'], message: string): ParentResult => ({
    ...base,
    attachments: [],
    problem: { reason, message },
  });
  if (candidates.length === 0) {
    return fail(Reason.NoMatchingParent, `Gateway ${gatewayName} has no listener ${describeNarrowing(ref)}`);
  }
  const served = candidates.filter((l) => l.served);
  if (served.length === 0) {
    const names = candidates.map((l) => l.spec.name).join(', ');
    return fail(
      Reason.NoMatchingParent,
      `listener(s) ${names} of Gateway ${gatewayName} are not served; see the Gateway's listener status`,
    );
  }
  const routeNamespace = route.metadata.namespace ?? '';
  const refusals: string[] = [];
  const allowed = served.filter((l) => {
    const refusal = namespaceRefusal(world, l, routeNamespace);
    if (refusal) refusals.push(refusal);
    else if (!l.supportedKinds.some((k) => k.kind === 'HTTPRoute')) {
      refusals.push(`listener ${l.spec.name} does not allow HTTPRoute`);
    } else return true;
    return false;
  });
  if (allowed.length === 0) return fail(Reason.NotAllowedByListeners, refusals.join('; '));
  const attachments = allowed
    .map((listener) => ({
      listener,
      hostnames: intersectHostnames(listener.spec.hostname, route.spec.hostnames),
    }))
    .filter((a) => a.hostnames.length > 0);
  if (attachments.length === 0) {
    const listenerHosts = allowed.map((l) => `${l.spec.name}: ${l.spec.hostname ?? '(any)'}`).join(', ');
    return fail(
      Reason.NoMatchingListenerHostname,
      `no route hostname (${(route.spec.hostnames ?? []).join(', ')}) intersects a listener hostname (${listenerHosts})`,
    );
  }
  return { ...base, attachments };
}

/** One result per parentRef that names one of our Gateways; parentRefs to anything else are not ours. */
export function attachParents(
  world: World,
  route: HTTPRoute,
  gateways: ReadonlyMap<string, GatewayModel>,
): ParentResult[] {
  const results: ParentResult[] = [];
  for (const raw of route.spec.parentRefs ?? []) {
    const ref = normaliseParentRef(raw, route.metadata.namespace ?? '');
    if (ref.group !== GATEWAY_GROUP || ref.kind !== 'Gateway') continue;
    const gateway = gateways.get(objectKey(ref.namespace, ref.name));
    if (gateway) results.push(attach(world, route, ref, gateway));
  }
  return results;
}
