/**
 * The kinds the test API server serves, derived from the KINDS registry plus Lease (leader election),
 * and the parsing of Kubernetes REST paths into (kind, namespace, name, subresource).
 */
import { KIND_NAMES, KINDS } from '../../../src/shared/resources.js';

export interface FakeKind {
  readonly kind: string;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** A CustomResourceDefinition (not built in): per-item kind/apiVersion in lists, RV required on PUT. */
  readonly crd: boolean;
  readonly statusSubresource: boolean;
  /** PUT without metadata.resourceVersion is rejected with 422 (CRs and Leases). */
  readonly requireResourceVersion: boolean;
}

// Which kinds have a /status subresource on a real cluster (KINDS.hasStatus means "we write it").
const STATUS_SUBRESOURCE = new Set([
  'GatewayClass',
  'Gateway',
  'HTTPRoute',
  'Backend',
  'AgentgatewayBackend',
  'AgentgatewayPolicy',
  'Service',
  'Namespace',
]);
const BUILT_IN_GROUPS = new Set(['', 'discovery.k8s.io', 'coordination.k8s.io']);

function fakeKind(info: {
  kind: string;
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}) {
  const crd = !BUILT_IN_GROUPS.has(info.group);
  return {
    kind: info.kind,
    group: info.group,
    version: info.version,
    plural: info.plural,
    namespaced: info.namespaced,
    crd,
    statusSubresource: STATUS_SUBRESOURCE.has(info.kind),
    requireResourceVersion: crd || info.kind === 'Lease',
  } satisfies FakeKind;
}

export const FAKE_KINDS: ReadonlyMap<string, FakeKind> = new Map(
  [
    ...KIND_NAMES.map((name) => KINDS[name]),
    { kind: 'Lease', group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true },
  ].map((info) => [info.kind, fakeKind(info)]),
);

export function apiVersionOf(kind: FakeKind): string {
  return kind.group ? `${kind.group}/${kind.version}` : kind.version;
}

export function fakeKindOf(name: string): FakeKind {
  const kind = FAKE_KINDS.get(name);
  if (!kind) throw new Error(`the test API server does not serve kind ${name}`);
  return kind;
}

export interface ResourcePath {
  kind: FakeKind;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * Parse `/api/v1/...` or `/apis/G/V/...`. Returns undefined for anything that is not a served resource.
 * `/api/v1/namespaces/X/status` is the Namespace status, `/api/v1/namespaces/X/services` a collection.
 */
export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const segs = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    [group, version, rest] = ['', segs[1]!, segs.slice(2)];
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    [group, version, rest] = [segs[1]!, segs[2]!, segs.slice(3)];
  } else {
    return undefined;
  }
  const find = (plural: string) =>
    [...FAKE_KINDS.values()].find((k) => k.group === group && k.version === version && k.plural === plural);

  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && rest[2] === 'status')) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (!plural || extra.length > 0) return undefined;
  const kind = find(plural);
  if (!kind) return undefined;
  if (namespace !== undefined && !kind.namespaced) return undefined;
  if (name !== undefined && kind.namespaced && namespace === undefined) return undefined;
  if (subresource !== undefined && subresource !== 'status') return undefined;
  return { kind, namespace, name, subresource };
}
