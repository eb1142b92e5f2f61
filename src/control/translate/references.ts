/**
 * ReferenceGrant: may an HTTPRoute in one namespace reference an object in another?
 */
import { GATEWAY_GROUP } from './gateways.js';
import type { World } from './world.js';

/** Core kinds are written with group '' or 'core'. */
export function normaliseGroup(group: string | undefined): string {
  return group === undefined || group === 'core' ? '' : group;
}

export interface ReferenceTarget {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export function referenceAllowed(world: World, fromNamespace: string, to: ReferenceTarget): boolean {
  if (fromNamespace === to.namespace) return true;
  return (world.grantsByNamespace.get(to.namespace) ?? []).some(
    (grant) =>
      grant.spec.from.some(
        (f) => f.group === GATEWAY_GROUP && f.kind === 'HTTPRoute' && f.namespace === fromNamespace,
      ) &&
      grant.spec.to.some(
        (t) =>
          normaliseGroup(t.group) === to.group &&
          t.kind === to.kind &&
          (t.name === undefined || t.name === to.name),
      ),
  );
}
