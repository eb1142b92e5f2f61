/**
 * Selector resolution: which Services an MCP selector target picks.
 *
 * No namespace selector → the backend's own namespace only. A namespace selector → every namespace
 * whose labels match (`{}` matches all of them). Services come back oldest first, so the first claimant
 * of a target name is stable when new Services appear.
 */
import type { LabelMatcher } from '../../shared/labels.js';
import type { Service, ServicePort } from '../../shared/resources.js';
import type { TargetProtocol } from '../../shared/table.js';
import { compareByAge } from './order.js';
import { labelsOfNamespace, type World } from './world.js';

const MCP_APP_PROTOCOLS: Readonly<Record<string, TargetProtocol>> = {
  'agentgateway.dev/mcp': 'StreamableHTTP',
  'kgateway.dev/mcp': 'StreamableHTTP',
  'agentgateway.dev/mcp-sse': 'SSE',
  'kgateway.dev/mcp-sse': 'SSE',
};

export const MCP_APP_PROTOCOL_LIST = Object.keys(MCP_APP_PROTOCOLS).join(', ');

/** The MCP protocol a Service port speaks, or undefined when its appProtocol is not an MCP one. */
export function mcpProtocolOf(port: ServicePort): TargetProtocol | undefined {
  return port.appProtocol === undefined ? undefined : MCP_APP_PROTOCOLS[port.appProtocol];
}

export function selectServices(
  world: World,
  backendNamespace: string,
  services: LabelMatcher,
  namespaces: LabelMatcher | undefined,
): Service[] {
  // Scan only the namespaces in scope: 1,000 selectors over 10,000 Services would otherwise be
  // 10 million label checks per translate().
  if (!namespaces) {
    return (world.servicesByNamespace.get(backendNamespace) ?? []).filter((svc) =>
      services(svc.metadata.labels),
    );
  }
  const matched: Service[] = [];
  let namespacesMatched = 0;
  for (const [ns, list] of world.servicesByNamespace) {
    if (!namespaces(labelsOfNamespace(world, ns))) continue;
    namespacesMatched++;
    for (const svc of list) if (services(svc.metadata.labels)) matched.push(svc);
  }
  // Each namespace's list is oldest first; across namespaces, restore the global order.
  return namespacesMatched > 1 ? matched.sort(compareByAge) : matched;
}
