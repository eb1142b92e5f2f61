/**
 * The standalone manifests a user would write for the benchmark: one GatewayClass, one Gateway with an
 * HTTP listener per backend, an HTTPRoute per listener to an AgentgatewayBackend with static targets.
 */
import { stringify } from 'yaml';

export const CONTROLLER_NAME = 'mcplane.dev/gateway-controller';

export interface StaticTarget {
  readonly name: string;
  readonly port: number;
}

export interface BenchBackend {
  /** Becomes the listener, route and backend name. */
  readonly name: string;
  /** The Gateway listener port clients connect to. */
  readonly listenerPort: number;
  readonly targets: readonly StaticTarget[];
  /** AgentgatewayPolicies for its route (bench/policy.ts), as YAML-ready objects. */
  readonly policies?: readonly unknown[];
}

export function benchManifests(backends: readonly BenchBackend[]): string {
  const docs: unknown[] = [
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: 'mcplane' },
      spec: { controllerName: CONTROLLER_NAME },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'bench', namespace: 'default' },
      spec: {
        gatewayClassName: 'mcplane',
        listeners: backends.map((b) => ({
          name: b.name,
          port: b.listenerPort,
          protocol: 'HTTP',
          allowedRoutes: { namespaces: { from: 'Same' } },
        })),
      },
    },
  ];
  for (const b of backends) {
    docs.push(
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: b.name, namespace: 'default' },
        spec: {
          parentRefs: [{ name: 'bench', sectionName: b.name }],
          rules: [
            {
              matches: [{ path: { type: 'PathPrefix', value: '/mcp' } }],
              backendRefs: [{ group: 'agentgateway.dev', kind: 'AgentgatewayBackend', name: b.name }],
            },
          ],
        },
      },
      {
        apiVersion: 'agentgateway.dev/v1alpha1',
        kind: 'AgentgatewayBackend',
        metadata: { name: b.name, namespace: 'default' },
        spec: {
          mcp: {
            targets: b.targets.map((t) => ({
              name: t.name,
              static: { host: '127.0.0.1', port: t.port, path: '/mcp', protocol: 'StreamableHTTP' },
            })),
          },
        },
      },
    );
  }
  for (const b of backends) docs.push(...(b.policies ?? []));
  return docs.map((doc) => stringify(doc)).join('---\n');
}
