/**
 * zod schemas for every Kubernetes resource mcplane reads (docs/design.md section 3).
 *
 * Gateway API and core kinds are parsed loosely: real objects carry many fields we do not use, and a
 * field we do not read must never make an object invalid. The MCP backend shapes are ours to
 * interpret, so their `mcp` blocks are strict: a misspelt `targtes:` is an error with a field path.
 */
import { z } from 'zod';

const labelMap = z.record(z.string(), z.string());

export const labelSelectorRequirementSchema = z.object({
  key: z.string().min(1),
  operator: z.string().min(1),
  values: z.array(z.string()).optional(),
});
export const labelSelectorSchema = z.object({
  matchLabels: labelMap.optional(),
  matchExpressions: z.array(labelSelectorRequirementSchema).optional(),
});
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

export const metadataSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().optional(),
  labels: labelMap.optional(),
  annotations: labelMap.optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().optional(),
});
export type ObjectMeta = z.infer<typeof metadataSchema>;

/** A status object is kept as opaque JSON: translate() computes ours, the writer compares. */
const opaqueStatus = z.record(z.string(), z.unknown()).optional();

// ---------------------------------------------------------------------------------------------
// Gateway API

export const gatewayClassSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('GatewayClass'),
  metadata: metadataSchema,
  spec: z.object({ controllerName: z.string().min(1), description: z.string().optional() }),
  status: opaqueStatus,
});
export type GatewayClass = z.infer<typeof gatewayClassSchema>;

export const routeGroupKindSchema = z.object({ group: z.string().optional(), kind: z.string().min(1) });

export const listenerSchema = z.object({
  name: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  protocol: z.string().min(1),
  hostname: z.string().optional(),
  allowedRoutes: z
    .object({
      namespaces: z
        .object({
          from: z.enum(['All', 'Same', 'Selector']).optional(),
          selector: labelSelectorSchema.optional(),
        })
        .optional(),
      kinds: z.array(routeGroupKindSchema).optional(),
    })
    .optional(),
});
export type GatewayListener = z.infer<typeof listenerSchema>;

export const gatewaySchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('Gateway'),
  metadata: metadataSchema,
  spec: z.object({
    gatewayClassName: z.string().min(1),
    listeners: z.array(listenerSchema).min(1),
    addresses: z.array(z.object({ type: z.string().optional(), value: z.string() })).optional(),
  }),
  status: opaqueStatus,
});
export type Gateway = z.infer<typeof gatewaySchema>;

export const parentRefSchema = z.object({
  group: z.string().optional(),
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().min(1),
  sectionName: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
});
export type ParentRef = z.infer<typeof parentRefSchema>;

export const httpPathMatchSchema = z.object({
  type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).optional(),
  value: z.string().optional(),
});
export const httpHeaderMatchSchema = z.object({
  type: z.enum(['Exact', 'RegularExpression']).optional(),
  name: z.string().min(1),
  value: z.string(),
});
export const httpRouteMatchSchema = z.object({
  path: httpPathMatchSchema.optional(),
  headers: z.array(httpHeaderMatchSchema).optional(),
  queryParams: z.array(httpHeaderMatchSchema).optional(),
  method: z.string().optional(),
});
export type HTTPRouteMatch = z.infer<typeof httpRouteMatchSchema>;

export const backendRefSchema = z.object({
  group: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().min(1),
  namespace: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  weight: z.number().int().min(0).optional(),
});
export type BackendRef = z.infer<typeof backendRefSchema>;

export const httpRouteSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('HTTPRoute'),
  metadata: metadataSchema,
  spec: z.object({
    parentRefs: z.array(parentRefSchema).optional(),
    hostnames: z.array(z.string()).optional(),
    rules: z
      .array(
        z.object({
          name: z.string().optional(),
          matches: z.array(httpRouteMatchSchema).optional(),
          backendRefs: z.array(backendRefSchema).optional(),
        }),
      )
      .optional(),
  }),
  status: opaqueStatus,
});
export type HTTPRoute = z.infer<typeof httpRouteSchema>;

export const referenceGrantSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('ReferenceGrant'),
  metadata: metadataSchema,
  spec: z.object({
    from: z
      .array(z.object({ group: z.string(), kind: z.string().min(1), namespace: z.string().min(1) }))
      .min(1),
    to: z.array(z.object({ group: z.string(), kind: z.string().min(1), name: z.string().optional() })).min(1),
  }),
});
export type ReferenceGrant = z.infer<typeof referenceGrantSchema>;

// ---------------------------------------------------------------------------------------------
// MCP backends: three shapes, one IR (field mapping: docs/design.md section 3)

export const mcpProtocolSchema = z.enum(['StreamableHTTP', 'SSE', 'Undefined']);
export const prefixModeSchema = z.enum(['Always', 'Conditional', 'Never']);
export const failureModeSchema = z.enum(['FailClosed', 'FailOpen']);
export const sessionRoutingSchema = z.enum(['Stateful', 'Stateless']);

/** kgateway v2.0 (the walk-through's shape): `mcp.name`, `targets[].selectors` or `targets[].static.name`. */
export const kgwV20TargetSchema = z.strictObject({
  selectors: z
    .strictObject({
      serviceSelector: labelSelectorSchema.optional(),
      namespaceSelector: labelSelectorSchema.optional(),
    })
    .optional(),
  static: z
    .strictObject({
      name: z.string().min(1),
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      protocol: mcpProtocolSchema.optional(),
      path: z.string().optional(),
    })
    .optional(),
});

/** kgateway v2.1: `targets[].{name, selector:{service,namespace}, static:{host,port,path,protocol}}`. */
export const kgwV21TargetSchema = z.strictObject({
  name: z.string().min(1),
  selector: z
    .strictObject({ service: labelSelectorSchema.optional(), namespace: labelSelectorSchema.optional() })
    .optional(),
  static: z
    .strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      path: z.string().optional(),
      protocol: mcpProtocolSchema.optional(),
    })
    .optional(),
});

export const kgatewayBackendSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('Backend'),
  metadata: metadataSchema,
  spec: z
    .object({
      type: z.string().optional(),
      mcp: z
        .strictObject({
          name: z.string().optional(),
          targets: z.array(z.union([kgwV21TargetSchema, kgwV20TargetSchema])).min(1),
          // mcplane extensions: the seed shapes have no such fields, so these are optional overrides.
          prefixMode: prefixModeSchema.optional(),
          failureMode: failureModeSchema.optional(),
        })
        .optional(),
    })
    .loose(),
  status: opaqueStatus,
});
export type KgatewayBackend = z.infer<typeof kgatewayBackendSchema>;

/** agentgateway.dev/v1alpha1 AgentgatewayBackend (today's shape). */
export const agwTargetSchema = z.strictObject({
  name: z.string().min(1),
  selector: z
    .strictObject({ services: labelSelectorSchema.optional(), namespaces: labelSelectorSchema.optional() })
    .optional(),
  static: z
    .strictObject({
      host: z.string().min(1).optional(),
      backendRef: z.object({ name: z.string().min(1), namespace: z.string().optional() }).optional(),
      port: z.number().int().min(1).max(65535),
      path: z.string().optional(),
      protocol: mcpProtocolSchema.optional(),
      policies: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});

export const agentgatewayBackendSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('AgentgatewayBackend'),
  metadata: metadataSchema,
  spec: z
    .object({
      mcp: z
        .strictObject({
          targets: z.array(agwTargetSchema).min(1).max(128),
          prefixMode: prefixModeSchema.optional(),
          failureMode: failureModeSchema.optional(),
          sessionRouting: sessionRoutingSchema.optional(),
        })
        .optional(),
      policies: z.record(z.string(), z.unknown()).optional(),
    })
    .loose(),
  status: opaqueStatus,
});
export type AgentgatewayBackend = z.infer<typeof agentgatewayBackendSchema>;

/**
 * agentgateway's policy kind. Parsed loosely here: translate() reads the subset mcplane implements
 * with a strict schema (src/control/translate/policies/) and reports every other field by its path
 * in the policy's status, instead of dropping the object.
 */
export const policyTargetRefSchema = z.object({
  group: z.string(),
  kind: z.string().min(1),
  name: z.string().min(1),
  sectionName: z.string().optional(),
  port: z.number().int().optional(),
});
export type PolicyTargetRef = z.infer<typeof policyTargetRefSchema>;

export const agentgatewayPolicySchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('AgentgatewayPolicy'),
  metadata: metadataSchema,
  spec: z.record(z.string(), z.unknown()),
  status: opaqueStatus,
});
export type AgentgatewayPolicy = z.infer<typeof agentgatewayPolicySchema>;

// ---------------------------------------------------------------------------------------------
// Core kinds

export const servicePortSchema = z.object({
  name: z.string().optional(),
  port: z.number().int().min(1).max(65535),
  targetPort: z.union([z.number().int(), z.string()]).optional(),
  protocol: z.string().optional(),
  appProtocol: z.string().optional(),
});
export type ServicePort = z.infer<typeof servicePortSchema>;

export const serviceSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('Service'),
  metadata: metadataSchema,
  spec: z
    .object({
      type: z.string().optional(),
      clusterIP: z.string().optional(),
      selector: labelMap.optional(),
      ports: z.array(servicePortSchema).optional(),
    })
    .loose(),
  status: opaqueStatus,
});
export type Service = z.infer<typeof serviceSchema>;

export const endpointSliceSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('EndpointSlice'),
  metadata: metadataSchema,
  addressType: z.string(),
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string()).min(1),
        conditions: z
          .object({
            ready: z.boolean().optional(),
            serving: z.boolean().optional(),
            terminating: z.boolean().optional(),
          })
          .optional(),
        hostname: z.string().optional(),
        nodeName: z.string().optional(),
        targetRef: z.object({ kind: z.string().optional(), name: z.string().optional() }).loose().optional(),
      }),
    )
    .nullish(),
  ports: z
    .array(
      z.object({
        name: z.string().optional(),
        port: z.number().int().optional(),
        protocol: z.string().optional(),
        appProtocol: z.string().optional(),
      }),
    )
    .nullish(),
});
export type EndpointSlice = z.infer<typeof endpointSliceSchema>;

/**
 * Secrets that policies reference (API keys, upstream credentials). In Kubernetes only Secrets
 * labelled `mcplane.dev/credentials: "true"` are read (SECRET_LABEL): the gateway never holds the
 * rest of the cluster's secrets. Values never reach a log, a status or a metric.
 */
export const SECRET_LABEL = 'mcplane.dev/credentials';
export const secretSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('Secret'),
  metadata: metadataSchema,
  type: z.string().optional(),
  data: z.record(z.string(), z.string()).optional(),
  stringData: z.record(z.string(), z.string()).optional(),
});
export type Secret = z.infer<typeof secretSchema>;

export const namespaceSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('Namespace'),
  metadata: metadataSchema,
});
export type Namespace = z.infer<typeof namespaceSchema>;

// ---------------------------------------------------------------------------------------------
// Registry: one entry per kind, so sources, RBAC and tests derive their lists from one place.

export interface KindInfo<T> {
  readonly kind: string;
  readonly group: string; // '' for core
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** Optional CRDs count as present-and-empty when not installed. */
  readonly optional: boolean;
  /** translate() writes status for this kind. */
  readonly hasStatus: boolean;
  readonly schema: z.ZodType<T>;
  /** Only objects matching this label selector are read (Kubernetes mode). */
  readonly labelSelector?: string;
}

function kindInfo<T>(info: KindInfo<T>): KindInfo<T> {
  return info;
}

export const KINDS = {
  GatewayClass: kindInfo({
    kind: 'GatewayClass',
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    plural: 'gatewayclasses',
    namespaced: false,
    optional: false,
    hasStatus: true,
    schema: gatewayClassSchema,
  }),
  Gateway: kindInfo({
    kind: 'Gateway',
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    plural: 'gateways',
    namespaced: true,
    optional: false,
    hasStatus: true,
    schema: gatewaySchema,
  }),
  HTTPRoute: kindInfo({
    kind: 'HTTPRoute',
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    plural: 'httproutes',
    namespaced: true,
    optional: false,
    hasStatus: true,
    schema: httpRouteSchema,
  }),
  ReferenceGrant: kindInfo({
    kind: 'ReferenceGrant',
    group: 'gateway.networking.k8s.io',
    version: 'v1beta1',
    plural: 'referencegrants',
    namespaced: true,
    optional: true,
    hasStatus: false,
    schema: referenceGrantSchema,
  }),
  Backend: kindInfo({
    kind: 'Backend',
    group: 'gateway.kgateway.dev',
    version: 'v1alpha1',
    plural: 'backends',
    namespaced: true,
    optional: true,
    hasStatus: true,
    schema: kgatewayBackendSchema,
  }),
  AgentgatewayBackend: kindInfo({
    kind: 'AgentgatewayBackend',
    group: 'agentgateway.dev',
    version: 'v1alpha1',
    plural: 'agentgatewaybackends',
    namespaced: true,
    optional: true,
    hasStatus: true,
    schema: agentgatewayBackendSchema,
  }),
  AgentgatewayPolicy: kindInfo({
    kind: 'AgentgatewayPolicy',
    group: 'agentgateway.dev',
    version: 'v1alpha1',
    plural: 'agentgatewaypolicies',
    namespaced: true,
    optional: true,
    hasStatus: true,
    schema: agentgatewayPolicySchema,
  }),
  Service: kindInfo({
    kind: 'Service',
    group: '',
    version: 'v1',
    plural: 'services',
    namespaced: true,
    optional: false,
    hasStatus: false,
    schema: serviceSchema,
  }),
  EndpointSlice: kindInfo({
    kind: 'EndpointSlice',
    group: 'discovery.k8s.io',
    version: 'v1',
    plural: 'endpointslices',
    namespaced: true,
    optional: false,
    hasStatus: false,
    schema: endpointSliceSchema,
  }),
  Secret: kindInfo({
    kind: 'Secret',
    group: '',
    version: 'v1',
    plural: 'secrets',
    namespaced: true,
    optional: false,
    hasStatus: false,
    schema: secretSchema,
    labelSelector: `${SECRET_LABEL}=true`,
  }),
  Namespace: kindInfo({
    kind: 'Namespace',
    group: '',
    version: 'v1',
    plural: 'namespaces',
    namespaced: false,
    optional: false,
    hasStatus: false,
    schema: namespaceSchema,
  }),
} as const;

export type KindName = keyof typeof KINDS;
export const KIND_NAMES = Object.keys(KINDS) as KindName[];

export interface ResourceByKind {
  GatewayClass: GatewayClass;
  Gateway: Gateway;
  HTTPRoute: HTTPRoute;
  ReferenceGrant: ReferenceGrant;
  Backend: KgatewayBackend;
  AgentgatewayBackend: AgentgatewayBackend;
  AgentgatewayPolicy: AgentgatewayPolicy;
  Service: Service;
  EndpointSlice: EndpointSlice;
  Secret: Secret;
  Namespace: Namespace;
}

/** A frozen view of the whole store: the only input translate() has. Arrays are in no particular order. */
export type Snapshot = { readonly [K in KindName]: readonly ResourceByKind[K][] };

export function emptySnapshot(): Snapshot {
  return {
    GatewayClass: [],
    Gateway: [],
    HTTPRoute: [],
    ReferenceGrant: [],
    Backend: [],
    AgentgatewayBackend: [],
    AgentgatewayPolicy: [],
    Service: [],
    EndpointSlice: [],
    Secret: [],
    Namespace: [],
  };
}

/** Find the registry entry for an apiVersion + kind pair read from YAML or the API. */
export function kindFor(apiVersion: string, kind: string): KindName | undefined {
  for (const name of KIND_NAMES) {
    const info = KINDS[name];
    if (info.kind !== kind) continue;
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    if (group === info.group) return name;
  }
  return undefined;
}
