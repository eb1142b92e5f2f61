/**
 * Downstream SSE framing: event ids, `event: message`, no proxy buffering, and keep-alive comments
 * on long silent calls, for both the byte pass-through and the re-framed (multiplexed) path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backendOf,
  MCP_HEADERS,
  rawInitialize,
  targetOf,
  testGateways,
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

async function sleepCall(targets: FixtureServer[], tool: string) {
  const gateway = await gateways.start(backendOf(targets.map((t) => targetOf(t.name, t.port))), {
    sseKeepAliveMs: 40,
  });
  const session = await rawInitialize(gateway.url);
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 5,
      method: 'tools/call',
      params: { name: tool, arguments: { ms: 250 } },
    }),
  });
  return { response, text: await response.text(), gateway, session };
}

describe('SSE responses', () => {
  it.each([
    ['pass-through (one target)', [() => alpha], 'sleep'],
    ['re-framed (two targets)', [() => alpha, () => beta], 'beta_sleep'],
  ])('%s: keep-alive comments during a silent call, then the result', async (_name, targets, tool) => {
    const { response, text } = await sleepCall(
      targets.map((t) => t()),
      tool,
    );
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(text).toContain(': keep-alive\n\n');
    // Pass-through keeps the upstream's own framing (the SDK server sets no ids); re-framing numbers events.
    expect(text).toMatch(/event: message\n(id: \S+\n)?data: \{.*"slept 250"/);
    if (targets.length > 1) expect(text).toMatch(/event: message\nid: 1\ndata: /);
  });

  it('GET opens the session stream; without a session it is 400', async () => {
    const { gateway, session } = await sleepCall([alpha, beta], 'beta_sleep');
    const noSession = await fetch(gateway.url, { headers: { accept: 'text/event-stream' } });
    expect(noSession.status).toBe(400);
    await noSession.text();
    const controller = new AbortController();
    const stream = await fetch(gateway.url, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': session },
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    const reader = stream.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe(': keep-alive\n\n');
    controller.abort();
  });
});
