/**
 * Standalone manifests for end-to-end tests: our GatewayClass, one Gateway with an HTTP listener,
 * and per backend an HTTPRoute (path prefix, optional hostnames) → AgentgatewayBackend whose
 * targets are static `127.0.0.1:<port>/mcp`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from './gateway.js';
import { freePort } from './ports.js';

export interface StaticBackend {
  readonly name: string;
  readonly targets: ReadonlyArray<{ readonly name: string; readonly port: number; readonly path?: string }>;
  /** Route path prefix (default `/`). */
  readonly pathPrefix?: string;
  readonly hostnames?: readonly string[];
  readonly failureMode?: 'FailClosed' | 'FailOpen';
  readonly prefixMode?: 'Always' | 'Conditional' | 'Never';
}

/**
 * The two routes the raw-upstream tests use: `/one` → `a` alone (transparent) and `/two` → `a` and
 * `b` (multiplexed).
 */
export function transparentAndMultiplexed(
  a: { readonly port: number },
  b: { readonly port: number },
): StaticBackend[] {
  return [
    { name: 'one', pathPrefix: '/one', targets: [{ name: 'a', port: a.port }] },
    {
      name: 'two',
      pathPrefix: '/two',
      targets: [
        { name: 'a', port: a.port },
        { name: 'b', port: b.port },
      ],
    },
  ];
}

export function standaloneManifests(listenerPort: number, backends: readonly StaticBackend[]): string {
  const docs = [
    `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: mcplane }
spec: { controllerName: mcplane.dev/gateway-controller }`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: mcplane
  listeners:
    - { name: http, protocol: HTTP, port: ${listenerPort}, allowedRoutes: { namespaces: { from: All } } }`,
  ];
  for (const backend of backends) {
    const hostnames = backend.hostnames ? `\n  hostnames: ${JSON.stringify(backend.hostnames)}` : '';
    const modes = [
      backend.failureMode ? `    failureMode: ${backend.failureMode}` : '',
      backend.prefixMode ? `    prefixMode: ${backend.prefixMode}` : '',
    ]
      .filter(Boolean)
      .join('\n');
    docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${backend.name}, namespace: default }
spec:
  parentRefs: [{ name: gw }]${hostnames}
  rules:
    - matches: [{ path: { type: PathPrefix, value: ${backend.pathPrefix ?? '/'} } }]
      backendRefs: [{ group: agentgateway.dev, kind: AgentgatewayBackend, name: ${backend.name} }]`);
    const targets = backend.targets
      .map(
        (t) =>
          `      - name: ${t.name}\n        static: { host: 127.0.0.1, port: ${t.port}, path: ${t.path ?? '/mcp'} }`,
      )
      .join('\n');
    docs.push(`apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: { name: ${backend.name}, namespace: default }
spec:
  mcp:
${modes ? `${modes}\n` : ''}    targets:
${targets}`);
  }
  return `${docs.join('\n---\n')}\n`;
}

/** Write the manifests to a fresh temporary folder; returns the folder. */
export async function writeManifests(
  listenerPort: number,
  backends: readonly StaticBackend[],
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcplane-e2e-'));
  await writeFile(join(dir, 'gateway.yaml'), standaloneManifests(listenerPort, backends));
  return dir;
}

/** A whole mcplane in front of two targets, as transparentAndMultiplexed() routes them. */
export interface FrontedPair {
  readonly gateway: Gateway;
  /** `http://127.0.0.1:<listener port>`: `/one` (transparent, a) and `/two` (multiplexed, a + b). */
  readonly base: string;
  /** Stop the gateway and remove its manifests (the targets are the caller's). */
  stop(): Promise<void>;
}

export async function frontPair(
  a: { readonly port: number },
  b: { readonly port: number },
  flags: readonly string[] = [],
): Promise<FrontedPair> {
  const port = await freePort();
  const dir = await writeManifests(port, transparentAndMultiplexed(a, b));
  const gateway = await startTestGateway(['--manifests', dir, ...flags]).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    gateway,
    base: `http://127.0.0.1:${port}`,
    async stop() {
      await gateway.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
