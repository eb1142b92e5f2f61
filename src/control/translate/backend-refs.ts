/**
 * backendRefs → route actions. A rule uses its first backendRef with weight > 0 that resolves (MCP
 * sessions are bound to one backend, so weights do not split traffic); every ref is still checked so
 * status names each broken one.
 */
import type { BackendRef, HTTPRoute } from '../../shared/resources.js';
import { Reason, type ReasonName } from '../../shared/status.js';
import type { RouteAction } from '../../shared/table.js';
import type { BackendResolution, McpBackendKind, McpBackends } from './backends/index.js';
import { normaliseGroup, referenceAllowed } from './references.js';
import type { World } from './world.js';

const SUPPORTED: readonly { group: string; kind: McpBackendKind }[] = [
  { group: 'gateway.kgateway.dev', kind: 'Backend' },
  { group: 'agentgateway.dev', kind: 'AgentgatewayBackend' },
  { group: '', kind: 'Service' },
];
const SUPPORTED_TEXT =
  'gateway.kgateway.dev/Backend (type MCP), agentgateway.dev/AgentgatewayBackend, core/Service';

export interface RefOutcome {
  /** `backendRef <group>/<Kind> <ns>/<name>` for messages. */
  readonly label: string;
  readonly weight: number;
  readonly kind?: McpBackendKind;
  readonly namespace: string;
  readonly name: string;
  readonly result: BackendResolution;
}

function refFailure(reason: ReasonName, message: string): BackendResolution {
  return { ok: false, reason, message };
}

export function resolveBackendRef(
  world: World,
  backends: McpBackends,
  route: HTTPRoute,
  ref: BackendRef,
): RefOutcome {
  const group = normaliseGroup(ref.group);
  const kindName = ref.kind ?? 'Service';
  const routeNamespace = route.metadata.namespace ?? '';
  const namespace = ref.namespace ?? routeNamespace;
  const label = `backendRef ${group === '' ? 'core' : group}/${kindName} ${namespace}/${ref.name}`;
  const base = { label, weight: ref.weight ?? 1, namespace, name: ref.name };
  const kind = SUPPORTED.find((s) => s.group === group && s.kind === kindName)?.kind;
  if (!kind) {
    return {
      ...base,
      result: refFailure(Reason.InvalidKind, `${label}: unsupported kind; supported: ${SUPPORTED_TEXT}`),
    };
  }
  if (!referenceAllowed(world, routeNamespace, { group, kind, namespace, name: ref.name })) {
    const message = `${label}: not permitted from HTTPRoute in namespace "${routeNamespace}"; add a ReferenceGrant in namespace "${namespace}" from HTTPRoute in "${routeNamespace}" to ${kindName}`;
    return { ...base, kind, result: refFailure(Reason.RefNotPermitted, message) };
  }
  const result = backends.resolve(kind, namespace, ref.name, ref.port);
  return {
    ...base,
    kind,
    result: result.ok ? result : { ...result, message: `${label}: ${result.message}` },
  };
}

export function ruleAction(outcomes: readonly RefOutcome[], ruleLabel: string): RouteAction {
  const weighted = outcomes.filter((o) => o.weight > 0);
  if (weighted.length === 0) {
    const why = outcomes.length === 0 ? 'has no backendRefs' : 'has only backendRefs with weight 0';
    return { type: 'error', status: 503, message: `${ruleLabel} ${why}` };
  }
  const used = weighted.find((o) => o.result.ok);
  if (used?.result.ok) {
    const { result } = used;
    return result.failure
      ? { type: 'error', status: 500, message: result.failure }
      : { type: 'mcp', backend: result.backend };
  }
  const problems = weighted.map((o) => (o.result.ok ? '' : o.result.message)).join('; ');
  return { type: 'error', status: 500, message: `${ruleLabel}: no backendRef resolves: ${problems}` };
}
