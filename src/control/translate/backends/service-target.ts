/**
 * One MCP target from one Service port: naming and path annotations, host, endpoints.
 * Shared by selector targets, agentgateway `static.backendRef`, and a Service used as a backendRef.
 */
import type { Service, ServicePort } from '../../../shared/resources.js';
import type { McpTarget, TargetProtocol } from '../../../shared/table.js';
import { endpointsFor } from '../endpoints.js';
import type { World } from '../world.js';

export const TARGET_NAME_ANNOTATION = 'agentgateway.dev/mcp-target-name';
export const PATH_ANNOTATION = 'agentgateway.dev/mcp-path';
export const LEGACY_PATH_ANNOTATION = 'kgateway.dev/mcp-path';
const KNOWN_ANNOTATIONS = new Set([TARGET_NAME_ANNOTATION, PATH_ANNOTATION, LEGACY_PATH_ANNOTATION]);
const MCP_ANNOTATION_PREFIXES = ['agentgateway.dev/mcp-', 'kgateway.dev/mcp-'];

export function defaultPath(protocol: TargetProtocol): string {
  return protocol === 'SSE' ? '/sse' : '/mcp';
}

export function serviceHost(service: Service, clusterDomain: string): string {
  return `${service.metadata.name}.${service.metadata.namespace ?? ''}.svc.${clusterDomain}`;
}

export function serviceSource(service: Service, port: ServicePort): string {
  return `Service ${service.metadata.namespace ?? ''}/${service.metadata.name}:${port.port}`;
}

/** Annotations that look like ours but are not one we read (likely a typo). */
export function unknownMcpAnnotations(service: Service): string[] {
  return Object.keys(service.metadata.annotations ?? {})
    .filter((key) => MCP_ANNOTATION_PREFIXES.some((p) => key.startsWith(p)) && !KNOWN_ANNOTATIONS.has(key))
    .sort();
}

/** A Service port as an MCP target; the name may still be invalid (the builder checks every name). */
export function serviceTarget(
  world: World,
  service: Service,
  port: ServicePort,
  protocol: TargetProtocol,
): McpTarget {
  const annotations = service.metadata.annotations ?? {};
  const name = annotations[TARGET_NAME_ANNOTATION] || `${service.metadata.name}-${port.name ?? port.port}`;
  return {
    name,
    protocol,
    path: annotations[PATH_ANNOTATION] || annotations[LEGACY_PATH_ANNOTATION] || defaultPath(protocol),
    host: serviceHost(service, world.options.clusterDomain),
    port: port.port,
    endpoints: endpointsFor(world, service, port),
    source: serviceSource(service, port),
  };
}
