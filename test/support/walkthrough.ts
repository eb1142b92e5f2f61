/**
 * The walk-through of docs/design.md section 7 as Kubernetes objects, exactly as a user applies them,
 * plus what a cluster adds (Namespace, the chart's GatewayClass, the Service's EndpointSlice pointing
 * at an upstream on 127.0.0.1).
 */
export const CONTROLLER = 'mcplane.dev/gateway-controller';

export type Obj = Record<string, unknown>;
export function service(name: string, labels: Record<string, string>, port: number): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', labels },
    spec: { selector: labels, ports: [{ port, targetPort: port, appProtocol: 'kgateway.dev/mcp' }] },
  };
}

export function endpointSlice(svc: string, port: number): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-abc12`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    ports: [{ port, protocol: 'TCP' }],
  };
}

export function walkthrough(gatewayPort: number, upstreamPort: number): Obj[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } },
    },
    // Installed by the Helm chart.
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: 'agentgateway' },
      spec: { controllerName: CONTROLLER },
    },
    // What the user applies:
    service('mcp-server-everything', { app: 'mcp-server-everything' }, upstreamPort),
    {
      apiVersion: 'gateway.kgateway.dev/v1alpha1',
      kind: 'Backend',
      metadata: { name: 'mcp-backend', namespace: 'default' },
      spec: {
        type: 'MCP',
        mcp: {
          name: 'mcp-virtual-server',
          targets: [{ selectors: { serviceSelector: { matchLabels: { app: 'mcp-server-everything' } } } }],
        },
      },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'agentgateway', namespace: 'default' },
      spec: {
        gatewayClassName: 'agentgateway',
        listeners: [
          {
            protocol: 'HTTP',
            port: gatewayPort,
            name: 'http',
            allowedRoutes: { namespaces: { from: 'All' } },
          },
        ],
      },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'mcp', namespace: 'default' },
      spec: {
        parentRefs: [{ name: 'agentgateway' }],
        rules: [{ backendRefs: [{ name: 'mcp-backend', group: 'gateway.kgateway.dev', kind: 'Backend' }] }],
      },
    },
    // Maintained by Kubernetes for the Service; here it points at the upstream on 127.0.0.1.
    endpointSlice('mcp-server-everything', upstreamPort),
  ];
}

export function condition(
  status: unknown,
  type: string,
): { status?: string; reason?: string; message?: string } | undefined {
  const conditions =
    (
      status as
        | { conditions?: { type: string; status?: string; reason?: string; message?: string }[] }
        | undefined
    )?.conditions ?? [];
  return conditions.find((c) => c.type === type);
}
