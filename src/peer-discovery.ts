/**
 * Where this replica's peers are, for the exchange of deleted sessions (src/proxy/peers/): --peers as
 * given, or in Kubernetes mode the endpoints of --peer-service in the pod's namespace, read from the
 * EndpointSlices the Kubernetes source already watches (every namespace, for backend targets; the
 * chart's RBAC grants it). The port is the slice's port named `admin`, else its only port; endpoints
 * that are not ready count too (a starting replica must hear of deletions while it pulls), and this
 * pod itself is left out.
 */
import type { ResourceStore } from './control/sources/store.js';
import type { EndpointSlice } from './shared/resources.js';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** `host:port` admin addresses of the Service's endpoints (IPv6 in brackets), sorted, without `self`. */
export function peerAddresses(
  slices: readonly EndpointSlice[],
  namespace: string,
  service: string,
  self: string | undefined,
): string[] {
  const out = new Set<string>();
  for (const slice of slices) {
    if (slice.metadata.namespace !== namespace) continue;
    if (slice.metadata.labels?.[SERVICE_NAME_LABEL] !== service) continue;
    const ports = slice.ports ?? [];
    const port = (ports.find((p) => p.name === 'admin') ?? (ports.length === 1 ? ports[0] : undefined))?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (self !== undefined && endpoint.targetRef?.name === self) continue;
      for (const address of endpoint.addresses) {
        out.add(address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);
      }
    }
  }
  return [...out].sort();
}

/** The peers of --peer-service, recomputed only after the store's EndpointSlices changed. */
export function servicePeers(
  store: ResourceStore,
  namespace: string,
  service: string,
  self: string | undefined,
): () => readonly string[] {
  let cached: readonly string[] | undefined;
  store.onChange((kind) => {
    if (kind === 'EndpointSlice') cached = undefined;
  });
  return () => {
    cached ??= peerAddresses(store.snapshot().EndpointSlice, namespace, service, self);
    return cached;
  };
}
