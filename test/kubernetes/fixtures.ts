/** Valid objects of every kind, for seeding the test API server. */
export const ns = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});

export const gatewayClass = (name = 'mcplane') => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'GatewayClass',
  metadata: { name },
  spec: { controllerName: 'mcplane.dev/gateway-controller' },
});

export const gateway = (name: string, namespace = 'default', port = 8080) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name, namespace },
  spec: { gatewayClassName: 'mcplane', listeners: [{ name: 'http', port, protocol: 'HTTP' }] },
});

export const httpRoute = (name: string, namespace = 'default', backend = 'mcp') => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace },
  spec: {
    parentRefs: [{ name: 'gw' }],
    rules: [{ backendRefs: [{ group: 'agentgateway.dev', kind: 'AgentgatewayBackend', name: backend }] }],
  },
});

export const referenceGrant = (name: string, namespace = 'default') => ({
  apiVersion: 'gateway.networking.k8s.io/v1beta1',
  kind: 'ReferenceGrant',
  metadata: { name, namespace },
  spec: {
    from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'other' }],
    to: [{ group: '', kind: 'Service' }],
  },
});

export const backend = (name: string, namespace = 'default') => ({
  apiVersion: 'gateway.kgateway.dev/v1alpha1',
  kind: 'Backend',
  metadata: { name, namespace },
  spec: { type: 'MCP', mcp: { targets: [{ name: 't', static: { host: 'mcp.example', port: 80 } }] } },
});

export const agwBackend = (name: string, namespace = 'default', port = 3000) => ({
  apiVersion: 'agentgateway.dev/v1alpha1',
  kind: 'AgentgatewayBackend',
  metadata: { name, namespace },
  spec: { mcp: { targets: [{ name: 'everything', static: { host: 'everything.default', port } }] } },
});

export const service = (
  name: string,
  namespace = 'default',
  labels: Record<string, string> = {},
  port = 80,
) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, labels },
  spec: { selector: { app: name }, ports: [{ name: 'mcp', port, appProtocol: 'kgateway.dev/mcp' }] },
});

export const endpointSlice = (name: string, namespace = 'default', address = '10.0.0.1') => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace, labels: { 'kubernetes.io/service-name': name } },
  addressType: 'IPv4',
  endpoints: [{ addresses: [address], conditions: { ready: true } }],
  ports: [{ name: 'mcp', port: 80 }],
});

/** One or more valid objects of every kind. */
export function seedAll(): Record<string, unknown>[] {
  return [
    ns('default'),
    ns('team-a', { team: 'a' }),
    gatewayClass(),
    gateway('gw'),
    httpRoute('r1'),
    httpRoute('r2', 'team-a'),
    httpRoute('r3'),
    referenceGrant('rg'),
    backend('kb'),
    agwBackend('mcp'),
    service('svc-a'),
    service('svc-b', 'team-a'),
    service('svc-c'),
    endpointSlice('svc-a'),
    endpointSlice('svc-b', 'team-a', '10.0.0.2'),
  ];
}
