/**
 * Ready endpoints of one Service port, from the EndpointSlices labelled with the Service's name.
 */
import { objectKey } from '../../shared/object-key.js';
import type { EndpointSlice, Service, ServicePort } from '../../shared/resources.js';
import type { Endpoint } from '../../shared/table.js';
import { compareStrings } from './order.js';
import type { World } from './world.js';

/** The slice port serving `servicePort`: same name, else the slice's only port. */
function slicePort(slice: EndpointSlice, servicePort: ServicePort): number | undefined {
  const ports = slice.ports ?? [];
  const wanted = servicePort.name ?? '';
  const named = ports.find((p) => (p.name ?? '') === wanted);
  const chosen = named ?? (ports.length === 1 ? ports[0] : undefined);
  return chosen?.port;
}

/** Sorted and de-duplicated; [] when there are no slices (the proxy then dials the Service DNS name). */
export function endpointsFor(world: World, service: Service, servicePort: ServicePort): Endpoint[] {
  const slices =
    world.slicesByService.get(objectKey(service.metadata.namespace, service.metadata.name)) ?? [];
  const seen = new Map<string, Endpoint>();
  for (const slice of slices) {
    const port = slicePort(slice, servicePort);
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses) seen.set(`${address} ${port}`, { address, port });
    }
  }
  return [...seen.values()].sort((a, b) => compareStrings(a.address, b.address) || a.port - b.port);
}
