/**
 * A single-target backend with Conditional naming is transparent: the SDK client sees exactly what
 * the upstream offers, through the gateway's sessions.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backendOf,
  connectClient,
  type Gateway,
  startGateway,
  targetOf,
  textOf,
} from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';

describe('transparent single target', () => {
  let upstream: FixtureServer;
  let gateway: Gateway;

  beforeAll(async () => {
    upstream = await startFixture({
      name: 'everything',
      prompts: true,
      resources: true,
      instructions: 'Use echo.',
    });
    gateway = await startGateway(backendOf([targetOf('everything', upstream.port)]));
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('passes names, capabilities and the initialize result through unchanged', async () => {
    const direct = await connectClient(upstream.url);
    const proxied = await connectClient(gateway.url);
    expect(proxied.getServerVersion()).toEqual(direct.getServerVersion());
    expect(proxied.getServerCapabilities()).toEqual(direct.getServerCapabilities());
    expect(proxied.getInstructions()).toBe('Use echo.');
    expect(await proxied.listTools()).toEqual(await direct.listTools());
    expect(await proxied.listPrompts()).toEqual(await direct.listPrompts());
    expect(await proxied.listResources()).toEqual(await direct.listResources());
    expect(await proxied.listResourceTemplates()).toEqual(await direct.listResourceTemplates());
    await direct.close();
    await proxied.close();
  });

  it('calls echo and gets the upstream answer', async () => {
    const client = await connectClient(gateway.url);
    const result = await client.callTool({ name: 'echo', arguments: { message: 'Hello, world!' } });
    expect(textOf(result)).toBe('Echo: Hello, world!');
    const requests = (await gateway.metrics.requests.get()).values;
    const calls = requests.find((v) => v.labels.method === 'tools/call' && v.labels.outcome === 'ok');
    expect(calls?.labels).toMatchObject({ route: 'default/mcp/0/0', backend: gateway.backend.id });
    const upstreamCalls = (await gateway.metrics.upstreamRequests.get()).values;
    expect(upstreamCalls.find((v) => v.labels.method === 'tools/call')?.labels).toMatchObject({
      target: 'everything',
      outcome: 'ok',
    });
    await client.close();
  });

  it('streams progress notifications before the result (upstream SSE passes through)', async () => {
    const client = await connectClient(gateway.url);
    const progress: number[] = [];
    const result = await client.callTool({ name: 'count', arguments: { n: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress).toEqual([1, 2, 3]);
    expect(textOf(result)).toBe('counted to 3');
    await client.close();
  });

  it('answers ping itself and reads resources and prompts', async () => {
    const client = await connectClient(gateway.url);
    await expect(client.ping()).resolves.toEqual({});
    const read = await client.readResource({ uri: 'memo://readme' });
    expect(read.contents[0]).toMatchObject({ uri: 'memo://readme', text: 'readme of everything' });
    const prompt = await client.getPrompt({ name: 'greet', arguments: { who: 'bob' } });
    expect(prompt.messages[0]?.content).toMatchObject({ text: 'Hello bob from everything' });
    await client.close();
  });

  it('never forwards the client session id, Authorization or cookies upstream', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(gateway.url), {
      requestInit: { headers: { authorization: 'Bearer secret-token', cookie: 'a=b' } },
    });
    const client = new Client({ name: 'headers', version: '1' });
    await client.connect(transport);
    const clientSession = transport.sessionId!;
    const before = upstream.seen.length;
    await client.listTools();
    const seen = upstream.seen
      .slice(before)
      .find((r) => (r.body as { method?: string })?.method === 'tools/list')!;
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers['mcp-session-id']).toBeDefined();
    expect(seen.headers['mcp-session-id']).not.toBe(clientSession);
    expect(seen.headers['mcp-protocol-version']).toBe('2025-11-25');
    expect(seen.headers.host).toBe(`127.0.0.1:${upstream.port}`);
    await client.close();
  });

  it('DELETE ends the session upstream too, and the id then gets 404', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(gateway.url));
    const client = new Client({ name: 'bye', version: '1' });
    await client.connect(transport);
    const sessionId = transport.sessionId!;
    const upstreamSessions = upstream.sessions.size;
    await transport.terminateSession();
    expect(upstream.sessions.size).toBe(upstreamSessions - 1);
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error.code).toBe(-32001);
    await client.close();
  });
});
