/**
 * The snapshot, sorted and indexed once per translate() call, so every step reads it the same way.
 */

import { objectKey } from '../../shared/object-key.js';
import type {
  AgentgatewayBackend,
  AgentgatewayPolicy,
  EndpointSlice,
  Gateway,
  HTTPRoute,
  KgatewayBackend,
  ReferenceGrant,
  Secret,
  Service,
  Snapshot,
} from '../../shared/resources.js';
import type { TranslateOptions } from './options.js';
import { sortByAge } from './order.js';

export interface World {
  readonly options: TranslateOptions;
  /** Names of the GatewayClasses whose controllerName is ours. */
  readonly ourClasses: ReadonlySet<string>;
  /** Sorted by (creationTimestamp, namespace, name). */
  readonly gateways: readonly Gateway[];
  readonly routes: readonly HTTPRoute[];
  readonly policies: readonly AgentgatewayPolicy[];
  readonly services: readonly Service[];
  /** `services` grouped by namespace (each list still oldest first): selectors scan only their scope. */
  readonly servicesByNamespace: ReadonlyMap<string, readonly Service[]>;
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly grantsByNamespace: ReadonlyMap<string, readonly ReferenceGrant[]>;
  /** Keyed by objectKey(namespace, name). */
  readonly kgatewayBackends: ReadonlyMap<string, KgatewayBackend>;
  readonly agentgatewayBackends: ReadonlyMap<string, AgentgatewayBackend>;
  readonly servicesByKey: ReadonlyMap<string, Service>;
  /** Keyed by objectKey(namespace, name); only labelled Secrets in Kubernetes mode. */
  readonly secretsByKey: ReadonlyMap<string, Secret>;
  /** EndpointSlices by the objectKey of the Service they belong to (label kubernetes.io/service-name). */
  readonly slicesByService: ReadonlyMap<string, readonly EndpointSlice[]>;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string | undefined): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === undefined) continue;
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

function byKey<T extends { metadata: { namespace?: string; name: string } }>(
  items: readonly T[],
): Map<string, T> {
  return new Map(items.map((item) => [objectKey(item.metadata.namespace, item.metadata.name), item]));
}

export function buildWorld(snapshot: Snapshot, options: TranslateOptions): World {
  const services = sortByAge(snapshot.Service);
  const namespaceLabels = new Map(
    sortByAge(snapshot.Namespace).map((ns) => [
      ns.metadata.name,
      // The API server adds this label to every Namespace; files often omit it, so add it here.
      { ...ns.metadata.labels, 'kubernetes.io/metadata.name': ns.metadata.name },
    ]),
  );
  return {
    options,
    ourClasses: new Set(
      snapshot.GatewayClass.filter((c) => c.spec.controllerName === options.controllerName).map(
        (c) => c.metadata.name,
      ),
    ),
    gateways: sortByAge(snapshot.Gateway),
    routes: sortByAge(snapshot.HTTPRoute),
    policies: sortByAge(snapshot.AgentgatewayPolicy),
    services,
    servicesByNamespace: groupBy(services, (svc) => svc.metadata.namespace ?? ''),
    namespaceLabels,
    grantsByNamespace: groupBy(sortByAge(snapshot.ReferenceGrant), (g) => g.metadata.namespace),
    kgatewayBackends: byKey(snapshot.Backend),
    agentgatewayBackends: byKey(snapshot.AgentgatewayBackend),
    servicesByKey: byKey(services),
    secretsByKey: byKey(snapshot.Secret),
    slicesByService: groupBy(sortByAge(snapshot.EndpointSlice), (slice) => {
      const svc = slice.metadata.labels?.['kubernetes.io/service-name'];
      return svc === undefined ? undefined : objectKey(slice.metadata.namespace, svc);
    }),
  };
}

/** Labels of a namespace; a namespace with no Namespace object still has its implicit name label. */
export function labelsOfNamespace(world: World, namespace: string): Readonly<Record<string, string>> {
  return world.namespaceLabels.get(namespace) ?? { 'kubernetes.io/metadata.name': namespace };
}
