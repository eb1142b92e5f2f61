/**
 * MCP backends by reference: each CRD backend is built once (memoised) and gets status only once a
 * route attached to one of our Gateways uses it, so we never write status on objects we do not serve.
 */
import { kindKey, objectKey } from '../../../shared/object-key.js';
import type { AgentgatewayBackend, KgatewayBackend } from '../../../shared/resources.js';
import { Reason } from '../../../shared/status.js';
import type { StatusBook } from '../conditions.js';
import type { World } from '../world.js';
import { agentgatewayBackendSpec } from './agentgateway.js';
import { kgatewayBackendSpec } from './kgateway.js';
import { serviceBackend } from './service.js';
import type { BackendResolution } from './spec.js';
import { backendStatus } from './status.js';
import { type BuiltBackend, buildBackend } from './targets.js';

export type { BackendResolution } from './spec.js';

/** Why a Backend / AgentgatewayBackend is not one mcplane can serve. */
function notMcpMessage(object: KgatewayBackend | AgentgatewayBackend): string {
  if (object.kind === 'AgentgatewayBackend') return 'has no spec.mcp: mcplane serves MCP backends only';
  if (object.spec.type !== 'MCP') {
    return `spec.type is "${object.spec.type ?? ''}": mcplane serves Backends with spec.type MCP and spec.mcp`;
  }
  return 'spec.type is MCP but spec.mcp is missing';
}

export type McpBackendKind = 'Backend' | 'AgentgatewayBackend' | 'Service';

export class McpBackends {
  readonly #built = new Map<string, BuiltBackend | undefined>();
  readonly #referenced = new Set<string>();

  constructor(readonly world: World) {}

  resolve(
    kind: McpBackendKind,
    namespace: string,
    name: string,
    port: number | undefined,
  ): BackendResolution {
    if (kind === 'Service') return serviceBackend(this.world, namespace, name, port);
    const key = kindKey(kind, namespace, name);
    const object =
      kind === 'Backend'
        ? this.world.kgatewayBackends.get(objectKey(namespace, name))
        : this.world.agentgatewayBackends.get(objectKey(namespace, name));
    if (!object) {
      return { ok: false, reason: Reason.BackendNotFound, message: `${kind} not found` };
    }
    if (!this.#built.has(key)) {
      const spec = object.kind === 'Backend' ? kgatewayBackendSpec(object) : agentgatewayBackendSpec(object);
      this.#built.set(key, spec ? buildBackend(this.world, spec) : undefined);
    }
    const built = this.#built.get(key);
    if (!built) {
      return { ok: false, reason: Reason.InvalidKind, message: notMcpMessage(object) };
    }
    return {
      ok: true,
      backend: built.backend,
      ...(built.failure
        ? { failure: `${kind} ${namespace}/${name} is not accepted: ${built.failure.message}` }
        : {}),
    };
  }

  /** Called for backends used by a route that attached to one of our Gateways. */
  markReferenced(kind: McpBackendKind, namespace: string, name: string): void {
    if (kind !== 'Service') this.#referenced.add(kindKey(kind, namespace, name));
  }

  writeStatuses(book: StatusBook): void {
    for (const key of this.#referenced) {
      const built = this.#built.get(key);
      if (built) book.set(built.spec.kind, built.spec.metadata, backendStatus(built));
    }
  }
}
