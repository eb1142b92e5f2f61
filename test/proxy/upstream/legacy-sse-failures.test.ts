/**
 * Legacy HTTP+SSE targets when things go wrong: the upstream stream drops mid-call (clear error,
 * then a new connection), the upstream forgets its session, the endpoint event points at another
 * origin or never comes, and a session token carried to another replica (no connection there).
 */
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/proxy/upstream/errors.js';
import { LegacySseTransport } from '../../../src/proxy/upstream/legacy-sse.js';
import type { McpTarget } from '../../../src/shared/table.js';
import { type EndpointStyle, type LegacySseServer, startLegacySse } from '../../support/legacy-sse-server.js';
import {
  backendOf,
  connectClient,
  type Gateway,
  MCP_HEADERS,
  messagesOf,
  rawInitialize,
  startGateway,
  targetOf,
  textOf,
} from '../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../support/mcp-servers.js';

const gateways: Gateway[] = [];
const servers: Array<LegacySseServer | FixtureServer> = [];

async function legacyServer(name: string, endpoint: EndpointStyle = 'relative'): Promise<LegacySseServer> {
  const server = await startLegacySse({ name, endpoint });
  servers.push(server);
  return server;
}

function sseTarget(server: LegacySseServer): McpTarget {
  return targetOf(server.name, server.port, { protocol: 'SSE', path: '/sse' });
}

async function gatewayWith(
  targets: McpTarget[],
  options: Parameters<typeof backendOf>[1] = {},
  fanoutTimeoutMs = 2_000,
): Promise<Gateway> {
  const gateway = await startGateway(backendOf(targets, options), { fanoutTimeoutMs });
  gateways.push(gateway);
  return gateway;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 3000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const streamsOpened = (server: LegacySseServer) =>
  server.seen.filter((r) => r.method === 'GET' && r.url === '/sse').length;

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
});

describe('the upstream stream drops', () => {
  it('fails the waiting call naming the target, then reconnects on the next request', async () => {
    const server = await legacyServer('legacy');
    const client = await connectClient((await gatewayWith([sseTarget(server)])).url);
    const call = client.callTool({ name: 'sleep', arguments: { ms: 5_000 } });
    await until(
      () => server.seen.some((r) => r.method === 'POST' && r.url.includes('sessionId')),
      'the call',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.dropStreams();
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).message).toMatch(/target "legacy" closed its event stream before answering/);
    expect(textOf(await client.callTool({ name: 'whoami' }))).toBe('legacy');
    expect(streamsOpened(server)).toBe(2);
    await client.close();
  });

  it('ends a streaming multiplexed call with an error response and recovers the target', async () => {
    const server = await legacyServer('legacy');
    const modern = await startFixture({ name: 'modern' });
    servers.push(modern);
    const gateway = await gatewayWith([sseTarget(server), targetOf('modern', modern.port)]);
    const client = await connectClient(gateway.url);
    let dropped = false;
    const call = client.callTool({ name: 'legacy_count', arguments: { n: 400 } }, undefined, {
      onprogress: () => {
        if (dropped) return;
        dropped = true;
        server.dropStreams();
      },
    });
    await expect(call).rejects.toThrow(/target "legacy" closed its event stream before answering/);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('legacy_echo');
    expect(names).toContain('modern_echo');
    expect(textOf(await client.callTool({ name: 'legacy_whoami' }))).toBe('legacy');
    expect(streamsOpened(server)).toBe(2);
    await client.close();
  });

  it('re-initializes the target when the upstream forgets its session (POST 404)', async () => {
    const server = await legacyServer('legacy');
    const client = await connectClient((await gatewayWith([sseTarget(server)])).url);
    expect(textOf(await client.callTool({ name: 'whoami' }))).toBe('legacy');
    server.sessions.clear();
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'again' } }))).toBe(
      'Echo: again',
    );
    expect(streamsOpened(server)).toBe(2);
    await client.close();
  });
});

describe('a bad endpoint event', () => {
  it('rejects an endpoint on another origin and sends it nothing', async () => {
    const server = await legacyServer('foreign', 'foreign');
    const gateway = await gatewayWith([sseTarget(server)]);
    await expect(connectClient(gateway.url)).rejects.toThrow(
      /target "foreign" announced its message endpoint on another origin; only same-origin endpoints are accepted/,
    );
    expect(server.seen.filter((r) => r.method === 'POST')).toEqual([]);
    await until(() => server.sessions.size === 0, 'the rejected stream to close');
  });

  it('gives up on an upstream that never sends its endpoint, within the fan-out deadline', async () => {
    const server = await legacyServer('silent', 'none');
    const gateway = await gatewayWith([sseTarget(server)], {}, 300);
    const started = performance.now();
    await expect(connectClient(gateway.url)).rejects.toThrow(
      /target "silent" did not open its SSE stream and announce its message endpoint in time/,
    );
    expect(performance.now() - started).toBeLessThan(2_000);
    await until(() => server.sessions.size === 0, 'the silent stream to close');
  });

  it('skips a silent SSE target under FailOpen and serves the others', async () => {
    const server = await legacyServer('silent', 'none');
    const modern = await startFixture({ name: 'modern' });
    servers.push(modern);
    const targets = [sseTarget(server), targetOf('modern', modern.port)];
    const gateway = await gatewayWith(targets, { failureMode: 'FailOpen' }, 300);
    const client = await connectClient(gateway.url);
    expect(textOf(await client.callTool({ name: 'modern_whoami' }))).toBe('modern');
    await client.close();
  });
});

describe('a session token on another replica', () => {
  it('re-initializes the SSE target lazily on first use', async () => {
    const server = await legacyServer('legacy');
    const first = await gatewayWith([sseTarget(server)]);
    const second = await gatewayWith([sseTarget(server)]);
    const session = await rawInitialize(first.url, '2024-11-05');
    const response = await fetch(second.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2024-11-05' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'hop' } },
      }),
    });
    expect(response.status).toBe(200);
    const messages = await messagesOf(response);
    expect(messages.at(-1)).toMatchObject({ id: 2, result: { content: [{ text: 'Echo: hop' }] } });
    expect(streamsOpened(server)).toBe(2);
  });
});

describe('connection lifetime', () => {
  it('lets a tools/call run past the fan-out deadline (no default deadline on calls)', async () => {
    const server = await legacyServer('legacy');
    const client = await connectClient((await gatewayWith([sseTarget(server)], {}, 300)).url);
    expect(textOf(await client.callTool({ name: 'sleep', arguments: { ms: 600 } }))).toBe('slept 600');
    await client.close();
  });

  it('closes upstream streams when the gateway drains', async () => {
    const server = await legacyServer('legacy');
    const gateway = await startGateway(backendOf([sseTarget(server)]));
    const client = await connectClient(gateway.url);
    await client.callTool({ name: 'whoami' });
    expect(server.sessions.size).toBe(1);
    await gateway.close();
    await until(() => server.sessions.size === 0, 'the upstream stream to close on drain');
    await client.close().catch(() => {});
  });
});

describe('LegacySseTransport on its own', () => {
  it('closes a connection nothing used for idleTimeoutMs; its key then reads as session-expired', async () => {
    const server = await legacyServer('legacy');
    const transport = new LegacySseTransport({ idleTimeoutMs: 50 });
    const target = sseTarget(server);
    const endpoint = { address: '127.0.0.1', port: server.port };
    const initialize = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    const reply = await transport.post({
      target,
      endpoint,
      sessionId: undefined,
      protocolVersion: undefined,
      body: initialize,
      signal: AbortSignal.timeout(2_000),
    });
    expect(reply.kind).toBe('json');
    expect(transport.size).toBe(1);
    await until(() => transport.size === 0, 'the idle sweep');
    await until(() => server.sessions.size === 0, 'the upstream stream to close');
    const again = transport.post({
      target,
      endpoint,
      sessionId: reply.sessionId,
      protocolVersion: '2024-11-05',
      body: '{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
    });
    await expect(again).rejects.toBeInstanceOf(UpstreamError);
    await expect(again).rejects.toMatchObject({ failure: 'session-expired' });
    await transport.close();
  });
});
