/**
 * The walk-through of design.md section 7 against a Kubernetes API server (the in-process test
 * server speaking the real wire protocol), exactly as a user applies it: real reflectors, translate,
 * status writer with leader election, the proxy, and a real SDK client reaching an upstream MCP
 * server on 127.0.0.1 through its EndpointSlice.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { KubeApiServer } from '../support/kube/api-server.js';
import { kubeConfigFor } from '../support/kube/kubeconfig.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';

const CONTROLLER = 'mcplane.dev/gateway-controller';

type Obj = Record<string, unknown>;

function service(name: string, labels: Record<string, string>, port: number): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', labels },
    spec: { selector: labels, ports: [{ port, targetPort: port, appProtocol: 'kgateway.dev/mcp' }] },
  };
}

function endpointSlice(svc: string, port: number): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-abc12`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    ports: [{ port, protocol: 'TCP' }],
  };
}

function walkthrough(gatewayPort: number, upstreamPort: number): Obj[] {
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

function condition(status: unknown, type: string): { status?: string; reason?: string } | undefined {
  const conditions =
    (status as { conditions?: { type: string; status?: string; reason?: string }[] } | undefined)?.conditions ?? [];
  return conditions.find((c) => c.type === type);
}

describe('walk-through against a Kubernetes API server', () => {
  let api: KubeApiServer;
  let dir: string;
  let everything: FixtureServer;
  let second: FixtureServer;
  let gateway: Gateway;
  let gatewayPort: number;

  beforeAll(async () => {
    api = await KubeApiServer.start();
    everything = await startFixture({ name: 'everything' });
    second = await startFixture({ name: 'second', extraTools: ['weather'] });
    gatewayPort = await freePort();
    for (const obj of walkthrough(gatewayPort, everything.port)) api.apply(obj);
    dir = await mkdtemp(join(tmpdir(), 'mcplane-kube-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, kubeConfigFor(api.url).exportConfig());
    gateway = await startTestGateway(['--kubeconfig', kubeconfig, '--lease-namespace', 'default']);
  });

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([everything?.close(), second?.close()]);
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves echo through the Backend and shows the right status', async () => {
    const client = new Client({ name: 'walkthrough', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gatewayPort}/mcp`)));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'Hello, world!' } });
      expect(echo.content).toEqual([{ type: 'text', text: 'Echo: Hello, world!' }]);
    } finally {
      await client.close();
    }
    await expect
      .poll(() => condition(api.get('Gateway', 'default', 'agentgateway')?.status, 'Programmed')?.status, {
        timeout: 10_000,
      })
      .toBe('True');
    const gw = api.get('Gateway', 'default', 'agentgateway')?.status as {
      listeners: { attachedRoutes: number }[];
    };
    expect(gw.listeners[0]?.attachedRoutes).toBe(1);
    expect(condition(api.get('GatewayClass', '', 'agentgateway')?.status, 'Accepted')?.status).toBe('True');
    await expect
      .poll(
        () => {
          const route = api.get('HTTPRoute', 'default', 'mcp')?.status as {
            parents?: { conditions: unknown[]; controllerName: string }[];
          };
          const ours = route?.parents?.find((p) => p.controllerName === CONTROLLER);
          return [condition(ours, 'Accepted')?.status, condition(ours, 'ResolvedRefs')?.status];
        },
        { timeout: 10_000 },
      )
      .toEqual(['True', 'True']);
    await expect
      .poll(() => condition(api.get('Backend', 'default', 'mcp-backend')?.status, 'ResolvedRefs')?.reason, {
        timeout: 10_000,
      })
      .toBe('TargetsResolved');
  });

  it('follows a second labelled Service live, with list_changed to an open session', async () => {
    const client = new Client({ name: 'watcher', version: '1.0.0' });
    const notifications: number[] = [];
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      notifications.push(performance.now());
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gatewayPort}/mcp`)));
    try {
      api.apply(endpointSlice('second-server', second.port));
      const labelled = performance.now();
      api.apply(service('second-server', { app: 'mcp-server-everything' }, second.port));
      await expect.poll(() => notifications.length, { timeout: 10_000 }).toBeGreaterThan(0);
      const lagMs = notifications[0]! - labelled;
      console.log(`discovery lag (label → list_changed at the client): ${lagMs.toFixed(1)} ms`);
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'mcp-server-everything-' + everything.port + '_echo',
          `second-server-${second.port}_weather`,
        ]),
      );

      const before = notifications.length;
      api.apply(service('second-server', { app: 'something-else' }, second.port)); // the label goes
      await expect.poll(() => notifications.length, { timeout: 10_000 }).toBeGreaterThan(before);
      const after = (await client.listTools()).tools.map((t) => t.name);
      expect(after).toContain('echo');
      expect(after.some((n) => n.includes('weather'))).toBe(false);
    } finally {
      await client.close();
    }
    const metrics = await gateway.metrics.registry.getSingleMetricAsString('mcplane_discovery_lag_seconds');
    expect(metrics).toMatch(/mcplane_discovery_lag_seconds_count \d+/);
  });
});
