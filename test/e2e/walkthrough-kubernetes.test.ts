/**
 * The walk-through of docs/design.md section 7 against a Kubernetes API server (the in-process test
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
import { postInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { modernListen } from '../support/modern-wire.js';
import { freePort } from '../support/ports.js';
import { CONTROLLER, condition, endpointSlice, service, walkthrough } from '../support/walkthrough.js';

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

  it('follows a second labelled Service live, with list_changed to an open session and a 2026-07-28 listener', async () => {
    const client = new Client({ name: 'watcher', version: '1.0.0' });
    const notifications: number[] = [];
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      notifications.push(performance.now());
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gatewayPort}/mcp`)));
    // A 2026-07-28 client listens too (subscriptions/listen, no session).
    const listen = await modernListen(`http://127.0.0.1:${gatewayPort}/mcp`, { toolsListChanged: true });
    const { heard } = listen;
    expect(listen.contentType).toContain('text/event-stream');
    await expect.poll(() => heard[0]?.method).toBe('notifications/subscriptions/acknowledged');
    try {
      api.apply(endpointSlice('second-server', second.port));
      const labelled = performance.now();
      api.apply(service('second-server', { app: 'mcp-server-everything' }, second.port));
      await expect.poll(() => notifications.length, { timeout: 10_000 }).toBeGreaterThan(0);
      const changed = () => heard.filter((m) => m.method === 'notifications/tools/list_changed');
      await expect.poll(() => changed().length, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(changed()[0]!.params?._meta?.['io.modelcontextprotocol/subscriptionId']).toBe('listen-1');
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
      listen.stop();
      await client.close();
    }
    const metrics = await gateway.metrics.registry.getSingleMetricAsString('mcplane_discovery_lag_seconds');
    expect(metrics).toMatch(/mcplane_discovery_lag_seconds_count \d+/);
  });
});

describe('backend references against a Kubernetes API server', () => {
  let api: KubeApiServer;
  let dir: string;
  let upstream: FixtureServer;
  let gateway: Gateway;
  let gatewayPort: number;

  const route = (name: string, path: string, ref: Record<string, string>) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: 'default' },
    spec: {
      parentRefs: [{ name: 'agentgateway' }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: path } }], backendRefs: [ref] }],
    },
  });
  const ourParent = (name: string) => {
    const status = api.get('HTTPRoute', 'default', name)?.status as
      | {
          parents?: {
            controllerName: string;
            conditions: { type: string; status: string; reason: string }[];
          }[];
        }
      | undefined;
    return status?.parents?.find((p) => p.controllerName === CONTROLLER);
  };

  beforeAll(async () => {
    api = await KubeApiServer.start();
    upstream = await startFixture({ name: 'remote' });
    gatewayPort = await freePort();
    for (const obj of walkthrough(gatewayPort, upstream.port)) api.apply(obj);
    api.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team-b', labels: { 'kubernetes.io/metadata.name': 'team-b' } },
    });
    api.apply({
      apiVersion: 'agentgateway.dev/v1alpha1',
      kind: 'AgentgatewayBackend',
      metadata: { name: 'remote', namespace: 'team-b' },
      spec: {
        mcp: {
          targets: [{ name: 'remote', static: { host: '127.0.0.1', port: upstream.port, path: '/mcp' } }],
        },
      },
    });
    api.apply(
      route('cross-ns', '/cross', {
        group: 'agentgateway.dev',
        kind: 'AgentgatewayBackend',
        name: 'remote',
        namespace: 'team-b',
      }),
    );
    api.apply(route('missing', '/missing', { group: 'gateway.kgateway.dev', kind: 'Backend', name: 'nope' }));
    api.apply(route('wrong-kind', '/wrong', { group: '', kind: 'ConfigMap', name: 'settings' }));
    dir = await mkdtemp(join(tmpdir(), 'mcplane-refs-'));
    await writeFile(join(dir, 'kubeconfig'), kubeConfigFor(api.url).exportConfig());
    gateway = await startTestGateway([
      '--kubeconfig',
      join(dir, 'kubeconfig'),
      '--lease-namespace',
      'default',
    ]);
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function initialize(
    path: string,
  ): Promise<{ status: number; body: { error?: { message: string } } }> {
    const started = performance.now();
    const res = await postInitialize(`http://127.0.0.1:${gatewayPort}${path}`);
    expect(performance.now() - started).toBeLessThan(2000); // a clear answer, never a hang
    return {
      status: res.status,
      body: (await res.json().catch(() => ({}))) as { error?: { message: string } },
    };
  }

  it('refuses a cross-namespace backendRef without a ReferenceGrant, and serves it with one', async () => {
    await expect
      .poll(() => ourParent('cross-ns')?.conditions.find((c) => c.type === 'ResolvedRefs')?.reason, {
        timeout: 10_000,
      })
      .toBe('RefNotPermitted');
    const refused = await initialize('/cross/mcp');
    expect(refused.status).toBe(500);
    expect(refused.body.error?.message).toMatch(/ReferenceGrant/);

    api.apply({
      apiVersion: 'gateway.networking.k8s.io/v1beta1',
      kind: 'ReferenceGrant',
      metadata: { name: 'allow-default-routes', namespace: 'team-b' },
      spec: {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'default' }],
        to: [{ group: 'agentgateway.dev', kind: 'AgentgatewayBackend' }],
      },
    });
    await expect
      .poll(() => ourParent('cross-ns')?.conditions.find((c) => c.type === 'ResolvedRefs')?.status, {
        timeout: 10_000,
      })
      .toBe('True');
    const client = new Client({ name: 'cross', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gatewayPort}/cross/mcp`)),
    );
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'across namespaces' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: across namespaces' }]);
    await client.close();
  });

  it('reports BackendNotFound and InvalidKind, and answers the client at once', async () => {
    await expect
      .poll(() => ourParent('missing')?.conditions.find((c) => c.type === 'ResolvedRefs')?.reason, {
        timeout: 10_000,
      })
      .toBe('BackendNotFound');
    await expect
      .poll(() => ourParent('wrong-kind')?.conditions.find((c) => c.type === 'ResolvedRefs')?.reason, {
        timeout: 10_000,
      })
      .toBe('InvalidKind');
    const missing = await initialize('/missing/mcp');
    expect(missing.status).toBe(500);
    expect(missing.body.error?.message).toMatch(/nope/);
    const wrong = await initialize('/wrong/mcp');
    expect(wrong.status).toBe(500);
    expect(wrong.body.error?.message).toMatch(/ConfigMap/);
  });
});
