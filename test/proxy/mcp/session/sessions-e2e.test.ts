/**
 * Sealed sessions: any process with the key serves any session; GET streams carry list_changed
 * when the backend's targets change; disconnects reach the service as request.signal aborts.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRing } from '../../../../src/proxy/mcp/index.js';
import {
  backendOf,
  connectClient,
  MCP_HEADERS,
  messagesOf,
  postInitialize,
  startGateway,
  TEST_KEYS,
  targetOf,
  testGateways,
  textOf,
} from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';

let alpha: FixtureServer;
let beta: FixtureServer;
const gateways = testGateways();

beforeAll(async () => {
  [alpha, beta] = await Promise.all([startFixture({ name: 'alpha' }), startFixture({ name: 'beta' })]);
});
afterAll(async () => {
  await Promise.all([alpha.close(), beta.close()]);
});

const gateway = (targets: FixtureServer[], keyRing = TEST_KEYS) => gateways.over(targets, {}, { keyRing });

describe('session continuity', () => {
  it('a second service with the same key ring serves the session without a shared store', async () => {
    const first = await gateway([alpha, beta]);
    const second = await gateway([alpha, beta]);
    const transport = new StreamableHTTPClientTransport(new URL(first.url));
    const client = new Client({ name: 'roamer', version: '1' });
    await client.connect(transport);
    const sessionId = transport.sessionId!;
    const upstreamSessions = alpha.sessions.size;

    const response = await fetch(second.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'beta_whoami', arguments: {} },
      }),
    });
    expect(response.status).toBe(200);
    const [answer] = await messagesOf(response);
    expect(textOf(answer.result)).toBe('beta');
    // The second process reused the upstream sessions carried in the token: none was created.
    expect(alpha.sessions.size).toBe(upstreamSessions);
    await client.close();
  });

  it('a rotated key ring (new key first, old key kept) still opens old sessions', async () => {
    const old = await gateway([alpha]);
    const sessionId = await (async () => {
      const transport = new StreamableHTTPClientTransport(new URL(old.url));
      await new Client({ name: 'r', version: '1' }).connect(transport);
      return transport.sessionId!;
    })();
    const rotated = await gateway([alpha], KeyRing.fromSpec(`k2:${'22'.repeat(32)},k1:${'11'.repeat(32)}`));
    const other = await gateway([alpha], KeyRing.fromSpec(`k2:${'22'.repeat(32)}`));
    const ask = (url: string) =>
      fetch(url, {
        method: 'POST',
        headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
    expect((await ask(rotated.url)).status).toBe(200);
    expect((await ask(other.url)).status).toBe(404);
  });
});

describe('live target changes', () => {
  it('adds a target: list_changed reaches the client and its tools appear; removing it takes them away', async () => {
    const gw = await gateway([alpha]);
    const client = new Client({ name: 'watcher', version: '1' });
    const changes: string[] = [];
    client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => {
      changes.push(n.method);
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
    // Wait for the SDK client's GET stream to be open before changing the table.
    await waitFor(() => gw.metrics.sseStreamsOpen.get().then((m) => m.values[0]?.value === 1));

    gw.swap(backendOf([targetOf('alpha', alpha.port), targetOf('beta', beta.port)]));
    await waitFor(async () => changes.length === 1);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('alpha_echo');
    expect(names).toContain('beta_echo');
    expect(textOf(await client.callTool({ name: 'beta_whoami' }))).toBe('beta');

    gw.swap(backendOf([targetOf('alpha', alpha.port)]));
    await waitFor(async () => changes.length === 2);
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('beta_echo');
    // Back to one target: names are unprefixed again and alpha itself says it has no such tool.
    const gone = await client.callTool({ name: 'beta_whoami' });
    expect(gone.isError).toBe(true);
    expect(textOf(gone)).toContain('beta_whoami');
    const lag = await gw.metrics.discoveryLag.get();
    expect(lag.values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(2);
    await client.close();
  });

  it('a swap that does not change the target set sends nothing', async () => {
    const gw = await gateway([alpha]);
    const before = (await gw.metrics.listChangedSent.get()).values.length;
    gw.swap(backendOf([targetOf('alpha', alpha.port)]));
    expect((await gw.metrics.listChangedSent.get()).values.length).toBe(before);
  });
});

describe('upstream event streams', () => {
  it.each([
    ['transparent', 'grow'],
    ['multiplexed', 'beta_grow'],
  ])('%s: an upstream list_changed reaches the client on its GET stream', async (mode, tool) => {
    const gw = await gateway(mode === 'transparent' ? [beta] : [alpha, beta]);
    const client = new Client({ name: 'listener', version: '1' });
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed += 1;
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    await waitFor(() => gw.metrics.sseStreamsOpen.get().then((m) => m.values[0]?.value === 1));
    // Let the gateway's own upstream GET reach the target before it changes its tools.
    await waitFor(async () => beta.seen.some((r) => r.method === 'GET'));
    const grown = textOf(await client.callTool({ name: tool }));
    await waitFor(async () => changed === 1);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain(mode === 'transparent' ? grown : `beta_${grown}`);
    await client.close();
  });
});

describe('upstream restarts', () => {
  it('re-initializes a target that forgot its session and retries the call once', async () => {
    const gw = await gateway([alpha, beta]);
    const client = await connectClient(gw.url);
    expect(textOf(await client.callTool({ name: 'beta_whoami' }))).toBe('beta');
    for (const transport of [...beta.sessions.values()]) await transport.close();
    beta.sessions.clear();
    expect(textOf(await client.callTool({ name: 'beta_whoami' }))).toBe('beta');
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('beta_echo');
    await client.close();
  });
});

describe('cancellation', () => {
  it('routes the client notifications/cancelled to the target that has the request only', async () => {
    const gw = await gateway([alpha, beta]);
    const client = await connectClient(gw.url);
    const controller = new AbortController();
    const call = client.callTool({ name: 'beta_sleep', arguments: { ms: 2000 } }, undefined, {
      signal: controller.signal,
    });
    const sent = () =>
      beta.seen.find((r) => (r.body as { params?: { name?: string } })?.params?.name === 'sleep');
    await waitFor(async () => sent() !== undefined);
    const requestId = (sent()!.body as { id: unknown }).id;
    const alphaSeen = alpha.seen.length;
    controller.abort('changed my mind');
    await expect(call).rejects.toThrow();
    const cancelled = (r: { body: unknown }) => {
      const body = r.body as { method?: string; params?: { requestId?: unknown } };
      return body?.method === 'notifications/cancelled' && body.params?.requestId === requestId;
    };
    await waitFor(async () => beta.seen.some(cancelled));
    expect(alpha.seen.slice(alphaSeen).some(cancelled)).toBe(false);
    await client.close();
  });
});

describe('close()', () => {
  it('lets in-flight calls finish, ends GET streams and refuses new sessions', async () => {
    const gw = await startGateway(backendOf([targetOf('alpha', alpha.port)]));
    const client = await connectClient(gw.url);
    await waitFor(() => gw.metrics.sseStreamsOpen.get().then((m) => m.values[0]?.value === 1));
    const call = client.callTool({ name: 'sleep', arguments: { ms: 300 } });
    await waitFor(async () =>
      alpha.seen.some((r) => (r.body as { params?: { name?: string } })?.params?.name === 'sleep'),
    );
    const closing = gw.service.close(5000);
    const refused = await postInitialize(gw.url);
    expect(refused.status).toBe(503);
    expect(textOf(await call)).toBe('slept 300');
    await closing;
    expect((await gw.metrics.sseStreamsOpen.get()).values[0]?.value).toBe(0);
    await client.close();
    await gw.close();
  });
});

describe('client disconnect', () => {
  it('aborts request.signal and the upstream call when the client goes away', async () => {
    const gw = await gateway([alpha, beta]);
    const client = await connectClient(gw.url);
    const transport = client.transport as StreamableHTTPClientTransport;
    const controller = new AbortController();
    const call = fetch(gw.url, {
      method: 'POST',
      headers: {
        ...MCP_HEADERS,
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 77,
        method: 'tools/call',
        params: { name: 'beta_sleep', arguments: { ms: 3000 } },
      }),
      signal: controller.signal,
    });
    // Not awaited first: a rewritten call's headers wait for the target's first message.
    await waitFor(async () => beta.seen.some((r) => (r.body as { id?: unknown })?.id === 77));
    controller.abort();
    await expect(call.then((r) => r.text())).rejects.toThrow();
    // The service saw the abort and told the target to stop.
    await waitFor(async () =>
      beta.seen.some((r) => {
        const body = r.body as { method?: string; params?: { requestId?: unknown } };
        return body?.method === 'notifications/cancelled' && body.params?.requestId === 77;
      }),
    );
    await client.close();
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
