/**
 * Client→server traffic through a multiplexed backend: logging/setLevel fans out to the targets
 * that log, resource subscriptions go to the owner and its updates come back prefixed, call-scoped
 * notifications ride the call's stream, progress tokens pass through, ping is the gateway's.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFeatureClient } from '../../../support/mcp-clients.js';
import {
  connectClient,
  MCP_HEADERS,
  messagesOf,
  testGateways,
  textOf,
} from '../../../support/mcp-harness.js';
import { type FixtureServer, type SeenRequest, startFixture } from '../../../support/mcp-servers.js';

let alpha: FixtureServer;
let beta: FixtureServer;
let plain: FixtureServer;
const gateways = testGateways();

beforeAll(async () => {
  [alpha, beta, plain] = await Promise.all([
    startFixture({ name: 'alpha', notifications: true, resources: true }),
    startFixture({ name: 'beta', notifications: true, resources: true }),
    startFixture({ name: 'plain' }),
  ]);
});
afterAll(async () => {
  await Promise.all([alpha, beta, plain].map((s) => s.close()));
});

const body = (r: SeenRequest) => r.body as { id?: unknown; method?: string; params?: any };
/** The bodies of the messages with this method a fixture received (since an index of `seen`). */
const sawMethod = (server: FixtureServer, method: string, since = 0) =>
  server.seen
    .slice(since)
    .map(body)
    .filter((b) => b?.method === method);
const listening = (server: FixtureServer) => server.seen.some((r) => r.method === 'GET');

describe('logging', () => {
  it('logging/setLevel fans out to the targets that log, and filters what reaches the client', async () => {
    const gateway = await gateways.over([alpha, beta, plain]);
    const { client, notifications } = await connectFeatureClient(gateway.url);
    expect(client.getServerCapabilities()?.logging).toEqual({});
    await waitFor(() => listening(alpha) && listening(beta));
    const plainSeen = plain.seen.length;
    await client.setLoggingLevel('error');
    expect(sawMethod(alpha, 'logging/setLevel').at(-1)!.params).toEqual({ level: 'error' });
    expect(sawMethod(beta, 'logging/setLevel').at(-1)!.params).toEqual({ level: 'error' });
    // plain has no logging capability: it is not asked.
    expect(sawMethod(plain, 'logging/setLevel', plainSeen)).toEqual([]);

    await client.callTool({ name: 'alpha_log', arguments: { level: 'info', data: 'quiet' } });
    await client.callTool({ name: 'beta_log', arguments: { level: 'error', data: 'loud' } });
    await waitFor(() => notifications.length > 0);
    // Only the error line passed the level each target was told; its logger names the target.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(notifications.map((n) => n.params)).toEqual([
      { level: 'error', logger: 'beta/fixture', data: 'loud' },
    ]);
    await client.close();
  });

  it('an unknown level is -32602 naming the levels; nothing is sent upstream', async () => {
    const gateway = await gateways.over([alpha, beta]);
    const client = await connectClient(gateway.url);
    const before = sawMethod(alpha, 'logging/setLevel').length;
    await expect(client.setLoggingLevel('loud' as never)).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('debug, info, notice, warning, error, critical, alert, emergency'),
    });
    expect(sawMethod(alpha, 'logging/setLevel')).toHaveLength(before);
    await client.close();
  });

  it('a call-scoped log line travels on the call stream, before the result', async () => {
    const gateway = await gateways.over([alpha, beta]);
    const client = await connectClient(gateway.url);
    const session = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'call-1',
        method: 'tools/call',
        params: { name: 'beta_log-here', arguments: { data: 'inline' } },
      }),
    });
    const messages = await messagesOf(response);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/message',
      params: { level: 'info', data: 'inline', logger: 'beta' },
    });
    expect(messages[1].id).toBe('call-1');
    expect(textOf(messages[1].result)).toBe('beta logged here');
    await client.close();
  });
});

describe('resource subscriptions', () => {
  it('subscribe goes to the owner; its updates come back prefixed; unsubscribe stops them', async () => {
    const gateway = await gateways.over([alpha, beta]);
    const client = new Client({ name: 'subscriber', version: '1' });
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url)));
    expect(client.getServerCapabilities()?.resources).toEqual({ listChanged: true, subscribe: true });
    await waitFor(() => listening(alpha) && listening(beta));
    const betaSeen = beta.seen.length;

    await client.subscribeResource({ uri: 'alpha+memo://readme' });
    expect(sawMethod(alpha, 'resources/subscribe').at(-1)!.params).toEqual({ uri: 'memo://readme' });
    expect(sawMethod(beta, 'resources/subscribe', betaSeen)).toEqual([]);

    expect(textOf(await client.callTool({ name: 'alpha_touch' }))).toBe('touched memo://readme');
    await waitFor(() => updates.length === 1);
    expect(updates).toEqual(['alpha+memo://readme']);

    await client.unsubscribeResource({ uri: 'alpha+memo://readme' });
    expect(sawMethod(alpha, 'resources/unsubscribe').at(-1)!.params).toEqual({ uri: 'memo://readme' });
    expect(textOf(await client.callTool({ name: 'alpha_touch' }))).toBe('touched ');

    await expect(client.subscribeResource({ uri: 'memo://readme' })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('<target>+<uri>'),
    });
    await expect(client.subscribeResource({ uri: 'nosuch+memo://readme' })).rejects.toMatchObject({
      code: -32602,
    });
    await client.close();
  });
});

describe('progress and ping', () => {
  it('passes the client progress token to the owner and its progress back on the call stream', async () => {
    const gateway = await gateways.over([alpha, beta]);
    const client = await connectClient(gateway.url);
    const session = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 4,
        method: 'tools/call',
        params: { name: 'alpha_count', arguments: { n: 2 }, _meta: { progressToken: 'tok-1' } },
      }),
    });
    const messages = await messagesOf(response);
    expect(messages.slice(0, 2).map((m) => m.params)).toEqual([
      { progressToken: 'tok-1', progress: 1, total: 2 },
      { progressToken: 'tok-1', progress: 2, total: 2 },
    ]);
    expect(textOf(messages[2].result)).toBe('counted to 2');
    expect(sawMethod(alpha, 'tools/call').at(-1)!.params._meta).toEqual({ progressToken: 'tok-1' });
    await client.close();
  });

  it.each([
    ['transparent', 'sleep'],
    ['multiplexed', 'beta_sleep'],
  ])('%s: a client that goes away mid-call makes the gateway cancel it upstream', async (mode, tool) => {
    const gateway = await gateways.over(mode === 'transparent' ? [beta] : [alpha, beta]);
    const client = await connectClient(gateway.url);
    const session = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const controller = new AbortController();
    const id = `gone-${mode}`;
    // Not awaited: a rewritten call's headers wait for the target's first message (hop/sse-answer.ts).
    const response = fetch(gateway.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: tool, arguments: { ms: 3000 } },
      }),
      signal: controller.signal,
    });
    await waitFor(() => beta.seen.some((r) => body(r)?.id === id));
    controller.abort();
    await expect(response.then((r) => r.text())).rejects.toThrow();
    await waitFor(() => sawMethod(beta, 'notifications/cancelled').some((b) => b?.params?.requestId === id));
    await client.close();
  });

  it('answers ping itself', async () => {
    const gateway = await gateways.over([alpha, beta]);
    const client = await connectClient(gateway.url);
    const before = [alpha.seen.length, beta.seen.length];
    await expect(client.ping()).resolves.toEqual({});
    expect(sawMethod(alpha, 'ping', before[0])).toEqual([]);
    expect(sawMethod(beta, 'ping', before[1])).toEqual([]);
    await client.close();
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
