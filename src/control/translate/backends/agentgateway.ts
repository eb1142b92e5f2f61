/**
 * agentgateway.dev/v1alpha1 AgentgatewayBackend with `spec.mcp`: `targets[].{name, selector:{services,
 * namespaces} | static:{host | backendRef, port, path, protocol}}` plus prefixMode/failureMode/sessionRouting.
 */
import { type AgentgatewayBackend, KINDS } from '../../../shared/resources.js';
import type { BackendSpec, TargetSpec } from './spec.js';

type Target = NonNullable<AgentgatewayBackend['spec']['mcp']>['targets'][number];

/** Undefined when the object has no `spec.mcp` (another kind of backend: the caller reports InvalidKind). */
export function agentgatewayBackendSpec(backend: AgentgatewayBackend): BackendSpec | undefined {
  const mcp = backend.spec.mcp;
  if (!mcp) return undefined;
  const problems: string[] = [];
  const targets: TargetSpec[] = [];
  mcp.targets.forEach((target, i) => {
    const spec = agwTarget(target, `spec.mcp.targets[${i}]`);
    if (typeof spec === 'string') problems.push(spec);
    else targets.push(spec);
  });
  return {
    group: KINDS.AgentgatewayBackend.group,
    kind: 'AgentgatewayBackend',
    metadata: backend.metadata,
    prefixMode: mcp.prefixMode ?? 'Conditional',
    failureMode: mcp.failureMode ?? 'FailClosed',
    sessionRouting: mcp.sessionRouting ?? 'Stateful',
    targets,
    ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
  };
}

function agwTarget(target: Target, field: string): TargetSpec | string {
  const { name, selector, static: fixed } = target;
  if ((selector === undefined) === (fixed === undefined)) {
    return `${field} (${name}): set exactly one of selector or static`;
  }
  if (selector) {
    if (!selector.services && !selector.namespaces) {
      return `${field}.selector: set services, namespaces or both`;
    }
    return {
      type: 'selector',
      field: `${field}.selector`,
      servicesField: 'services',
      namespacesField: 'namespaces',
      ...(selector.services ? { services: selector.services } : {}),
      ...(selector.namespaces ? { namespaces: selector.namespaces } : {}),
    };
  }
  if (!fixed) throw new Error('unreachable');
  const common = {
    field: `${field}.static`,
    name,
    port: fixed.port,
    ...(fixed.path === undefined ? {} : { path: fixed.path }),
    ...(fixed.protocol === undefined ? {} : { protocol: fixed.protocol }),
  };
  if ((fixed.host === undefined) === (fixed.backendRef === undefined)) {
    return `${field}.static: set exactly one of host or backendRef`;
  }
  if (fixed.host !== undefined) return { type: 'static', ...common, host: fixed.host };
  const ref = fixed.backendRef!;
  return {
    type: 'serviceRef',
    ...common,
    service: ref.name,
    ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
  };
}
