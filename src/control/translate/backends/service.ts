/**
 * A core Service used directly as an HTTPRoute backendRef: its MCP port becomes a one-target backend
 * with the default modes. Its id is `core/Service/<ns>/<name>:<port>` (one backend per port).
 */
import { objectKey } from '../../../shared/object-key.js';
import { Reason } from '../../../shared/status.js';
import type { McpBackend } from '../../../shared/table.js';
import { MCP_APP_PROTOCOL_LIST, mcpProtocolOf } from '../services.js';
import type { World } from '../world.js';
import { serviceTarget, TARGET_NAME_ANNOTATION } from './service-target.js';
import type { BackendResolution } from './spec.js';
import { isValidTargetName } from './targets.js';

export function serviceBackend(
  world: World,
  namespace: string,
  name: string,
  portNumber: number | undefined,
): BackendResolution {
  if (portNumber === undefined) {
    return {
      ok: false,
      reason: Reason.UnsupportedValue,
      message: 'port is required when the backendRef is a Service',
    };
  }
  const service = world.servicesByKey.get(objectKey(namespace, name));
  if (!service) return { ok: false, reason: Reason.BackendNotFound, message: 'Service not found' };
  const port = service.spec.ports?.find((p) => p.port === portNumber);
  if (!port) {
    return { ok: false, reason: Reason.BackendNotFound, message: `the Service has no port ${portNumber}` };
  }
  const protocol = mcpProtocolOf(port);
  if (!protocol) {
    const actual = port.appProtocol ? `appProtocol "${port.appProtocol}"` : 'no appProtocol';
    return {
      ok: false,
      reason: Reason.UnsupportedProtocolBackend,
      message: `port ${portNumber} has ${actual}; set appProtocol to one of ${MCP_APP_PROTOCOL_LIST} to serve it as MCP`,
    };
  }
  const target = serviceTarget(world, service, port, protocol);
  if (!isValidTargetName(target.name)) {
    return {
      ok: false,
      reason: Reason.UnsupportedValue,
      message: `the Service's annotation ${TARGET_NAME_ANNOTATION} "${target.name}" is not a valid target name (lower-case DNS-1123 subdomain; "_" and "+" are reserved)`,
    };
  }
  const backend: McpBackend = {
    id: `core/Service/${namespace}/${name}:${portNumber}`,
    namespace,
    name,
    prefixMode: 'Conditional',
    failureMode: 'FailClosed',
    sessionRouting: 'Stateful',
    targets: [target],
  };
  return { ok: true, backend };
}
