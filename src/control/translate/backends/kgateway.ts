/**
 * gateway.kgateway.dev/v1alpha1 Backend `type: MCP`, in both seed shapes:
 * v2.0 `targets[].{selectors:{serviceSelector,namespaceSelector} | static:{name,host,port,protocol}}`
 * and v2.1 `targets[].{name, selector:{service,namespace} | static:{host,port,path,protocol}}`.
 */
import type { z } from 'zod';
import {
  type KgatewayBackend,
  KINDS,
  type kgwV20TargetSchema,
  type kgwV21TargetSchema,
} from '../../../shared/resources.js';
import type { BackendSpec, TargetSpec } from './spec.js';

type V20Target = z.infer<typeof kgwV20TargetSchema>;
type V21Target = z.infer<typeof kgwV21TargetSchema>;

/** Undefined when the Backend is not an MCP backend (the caller reports InvalidKind). */
export function kgatewayBackendSpec(backend: KgatewayBackend): BackendSpec | undefined {
  const mcp = backend.spec.mcp;
  if (backend.spec.type !== 'MCP' || !mcp) return undefined;
  const problems: string[] = [];
  const targets: TargetSpec[] = [];
  mcp.targets.forEach((target, i) => {
    const field = `spec.mcp.targets[${i}]`;
    const spec = 'name' in target ? v21Target(target, field) : v20Target(target, field);
    if (typeof spec === 'string') problems.push(spec);
    else targets.push(spec);
  });
  return {
    group: KINDS.Backend.group,
    kind: 'Backend',
    metadata: backend.metadata,
    prefixMode: mcp.prefixMode ?? 'Conditional',
    failureMode: mcp.failureMode ?? 'FailClosed',
    sessionRouting: 'Stateful',
    targets,
    ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
  };
}

function v20Target(target: V20Target, field: string): TargetSpec | string {
  const { selectors, static: fixed } = target;
  if ((selectors === undefined) === (fixed === undefined)) {
    return `${field}: set exactly one of selectors or static`;
  }
  if (fixed) {
    return {
      type: 'static',
      field: `${field}.static`,
      name: fixed.name,
      host: fixed.host,
      port: fixed.port,
      ...(fixed.path === undefined ? {} : { path: fixed.path }),
      ...(fixed.protocol === undefined ? {} : { protocol: fixed.protocol }),
    };
  }
  if (!selectors?.serviceSelector && !selectors?.namespaceSelector) {
    return `${field}.selectors: set serviceSelector, namespaceSelector or both`;
  }
  return {
    type: 'selector',
    field: `${field}.selectors`,
    servicesField: 'serviceSelector',
    namespacesField: 'namespaceSelector',
    ...(selectors.serviceSelector ? { services: selectors.serviceSelector } : {}),
    ...(selectors.namespaceSelector ? { namespaces: selectors.namespaceSelector } : {}),
  };
}

function v21Target(target: V21Target, field: string): TargetSpec | string {
  const { name, selector, static: fixed } = target;
  if ((selector === undefined) === (fixed === undefined)) {
    return `${field} (${name}): set exactly one of selector or static`;
  }
  if (fixed) {
    return {
      type: 'static',
      field: `${field}.static`,
      name,
      host: fixed.host,
      port: fixed.port,
      ...(fixed.path === undefined ? {} : { path: fixed.path }),
      ...(fixed.protocol === undefined ? {} : { protocol: fixed.protocol }),
    };
  }
  if (!selector?.service && !selector?.namespace) {
    return `${field}.selector: set service, namespace or both`;
  }
  return {
    type: 'selector',
    field: `${field}.selector`,
    servicesField: 'service',
    namespacesField: 'namespace',
    ...(selector.service ? { services: selector.service } : {}),
    ...(selector.namespace ? { namespaces: selector.namespace } : {}),
  };
}
