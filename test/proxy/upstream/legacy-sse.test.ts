/**
 * Legacy HTTP+SSE upstream targets (2024-11-05) through the gateway, against the SDK's real
 * SSEServerTransport: transparent, mixed with a streamable-HTTP target, endpoint styles, one
 * upstream connection per client session, DELETE closing it, ids colliding on one connection.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ListRootsRequestSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacySseTransport } from '../../../src/proxy/upstream/legacy-sse.js';
import type { McpTarget } from '../../../src/shared/table.js';
import { type LegacySseServer, startLegacySse } from '../../support/legacy-sse-server.js';
import {
  backendOf,
  connectClient,
  type Gateway,
  targetOf,
  testGateways,
  textOf,
} from '../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../support/mcp-servers.js';

let legacy: LegacySseServer;
let modern: FixtureServer;
const gateways = testGateways();

/** An SSE target reached at 127.0.0.1 but named like a Service, so the Host header shows. */
function sseTarget(server: LegacySseServer, name = server.name): McpTarget {
  return targetOf(name, server.port, {
    protocol: 'SSE',
    path: '/sse',
    host: 'legacy.tools.svc.cluster.local',
    endpoints: [{ address: '127.0.0.1', port: server.port }],
  });
}

async function gatewayWith(targets: McpTarget[]): Promise<Gateway> {
  const gateway = await gateways.start(backendOf(targets));
  return gateway;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 3000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeAll(async () => {
  [legacy, modern] = await Promise.all([
    startLegacySse({ name: 'legacy', instructions: 'Legacy rules.' }),
    startFixture({ name: 'modern' }),
  ]);
});
afterAll(async () => {
  await Promise.all([legacy.close(), modern.close()]);
});

describe('a single SSE target (transparent)', () => {
  it('initializes, lists and calls through the upstream event stream', async () => {
    const client = await connectClient((await gatewayWith([sseTarget(legacy)])).url);
    expect(client.getServerVersion()?.name).toBe('legacy');
    expect(client.getInstructions()).toBe('Legacy rules.');
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'count', 'roots']));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('Echo: hi');
    await client.close();
  });

  it('rewrites the Host header to the target host on the GET and on every POST', async () => {
    const client = await connectClient((await gatewayWith([sseTarget(legacy)])).url);
    await client.callTool({ name: 'whoami' });
    const host = `legacy.tools.svc.cluster.local:${legacy.port}`;
    const ours = legacy.seen.filter((r) => r.headers.host === host);
    expect(ours.some((r) => r.method === 'GET' && r.url === '/sse')).toBe(true);
    expect(ours.some((r) => r.method === 'POST' && r.url.startsWith('/messages?sessionId='))).toBe(true);
    expect(legacy.seen.every((r) => r.headers.host === host)).toBe(true);
    await client.close();
  });

  it('delivers progress notifications to the call that asked for them', async () => {
    const client = await connectClient((await gatewayWith([sseTarget(legacy)])).url);
    const progress: number[] = [];
    const result = await client.callTool({ name: 'count', arguments: { n: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(textOf(result)).toBe('counted to 3');
    expect(progress).toEqual([1, 2, 3]);
    await client.close();
  });

  it('sends server notifications to the client GET stream', async () => {
    const client = await connectClient((await gatewayWith([sseTarget(legacy)])).url);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed += 1;
    });
    await until(() => legacy.sessions.size > 0, 'the upstream session');
    // Give the client's GET stream a moment to be merged with the upstream stream.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.callTool({ name: 'grow' });
    await until(() => changed > 0, 'tools/list_changed');
    await client.close();
  });

  it('opens one upstream stream per client session and closes it on DELETE', async () => {
    const gateway = await gatewayWith([sseTarget(legacy)]);
    const before = legacy.sessions.size;
    const transports = [
      new StreamableHTTPClientTransport(new URL(gateway.url)),
      new StreamableHTTPClientTransport(new URL(gateway.url)),
    ];
    const clients = [new Client({ name: 'a', version: '1' }), new Client({ name: 'b', version: '1' })];
    await Promise.all(clients.map((c, i) => c.connect(transports[i]!)));
    await Promise.all(clients.map((c) => c.callTool({ name: 'whoami' })));
    await Promise.all(clients.map((c) => c.callTool({ name: 'whoami' })));
    expect(legacy.sessions.size).toBe(before + 2);
    await transports[0]!.terminateSession();
    await until(() => legacy.sessions.size === before + 1, 'the upstream stream to close');
    await transports[1]!.terminateSession();
    await until(() => legacy.sessions.size === before, 'the second upstream stream to close');
    await Promise.all(clients.map((c) => c.close()));
  });
});

describe('LegacySseTransport on its own', () => {
  it('answers two in-flight requests that share an id each with its own result', async () => {
    // The service refuses a client's duplicate in-flight id, but gateway-made ids can meet on one
    // connection; the transport renames the later one upstream and restores it in the answer.
    const transport = new LegacySseTransport();
    const target = sseTarget(legacy);
    const hop = { target, endpoint: target.endpoints[0]! };
    const init = await transport.post({
      ...hop,
      sessionId: undefined,
      protocolVersion: undefined,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'initialize',
        params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
      signal: AbortSignal.timeout(2_000),
    });
    const call = async (params: object) => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params });
      const reply = await transport.post({
        ...hop,
        sessionId: init.sessionId,
        protocolVersion: '2024-11-05',
        body,
      });
      if (reply.kind !== 'json') throw new Error(`expected a JSON answer, got ${reply.kind}`);
      return JSON.parse(reply.body.toString('utf8'));
    };
    const slow = call({ name: 'sleep', arguments: { ms: 150 } });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const fast = await call({ name: 'echo', arguments: { message: 'second' } });
    expect(fast).toMatchObject({ id: 7, result: { content: [{ text: 'Echo: second' }] } });
    expect(await slow).toMatchObject({ id: 7, result: { content: [{ text: 'slept 150' }] } });
    const posted = legacy.seen.filter((r) => r.method === 'POST').length;
    expect(posted).toBeGreaterThanOrEqual(3);
    await transport.close();
  });
});

describe('endpoint styles', () => {
  const servers: LegacySseServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  for (const style of ['absolute', 'query'] as const) {
    it(`accepts a same-origin ${style} endpoint`, async () => {
      const server = await startLegacySse({ name: style, endpoint: style });
      servers.push(server);
      // Targeted by address here: an absolute endpoint names 127.0.0.1, the address dialled.
      const client = await connectClient(
        (await gatewayWith([targetOf(style, server.port, { protocol: 'SSE', path: '/sse' })])).url,
      );
      expect(textOf(await client.callTool({ name: 'whoami' }))).toBe(style);
      const posts = server.seen.filter((r) => r.method === 'POST').map((r) => r.url);
      expect(posts.length).toBeGreaterThan(0);
      const path = style === 'query' ? '/sse?sessionId=' : '/messages?sessionId=';
      expect(posts.every((url) => url.startsWith(path))).toBe(true);
      await client.close();
    });
  }
});

describe('an SSE target mixed with a streamable-HTTP target', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await gatewayWith([sseTarget(legacy), targetOf(modern.name, modern.port)]);
  });

  it('lists both targets with prefixes and routes calls both ways', async () => {
    const client = await connectClient(gateway.url);
    expect(client.getServerVersion()?.name).toBe('mcplane');
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['legacy_echo', 'legacy_roots', 'modern_echo']));
    expect(names.every((n) => n.startsWith('legacy_') || n.startsWith('modern_'))).toBe(true);
    expect(textOf(await client.callTool({ name: 'legacy_whoami' }))).toBe('legacy');
    expect(textOf(await client.callTool({ name: 'modern_whoami' }))).toBe('modern');
    const answers = await Promise.all([
      client.callTool({ name: 'legacy_echo', arguments: { message: 'a' } }),
      client.callTool({ name: 'modern_echo', arguments: { message: 'b' } }),
      client.callTool({ name: 'legacy_add', arguments: { a: 2, b: 3 } }),
    ]);
    expect(answers.map(textOf)).toEqual(['Echo: a', 'Echo: b', '5']);
    await client.close();
  });

  it('delivers progress from the SSE target', async () => {
    const client = await connectClient(gateway.url);
    const progress: number[] = [];
    const result = await client.callTool({ name: 'legacy_count', arguments: { n: 2 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(textOf(result)).toBe('counted to 2');
    expect(progress).toEqual([1, 2]);
    await client.close();
  });

  it('relays a server request (roots/list) from the SSE target and routes the reply back', async () => {
    const client = new Client({ name: 'rooted', version: '1' }, { capabilities: { roots: {} } });
    client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: 'file:///work' }] }));
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url)));
    expect(textOf(await client.callTool({ name: 'legacy_roots' }))).toBe('file:///work');
    await client.close();
  });
});
