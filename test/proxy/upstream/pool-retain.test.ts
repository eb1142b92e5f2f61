/**
 * Upstream connection pools follow the routing table: when no target of any backend uses an
 * endpoint any more, its pool closes (calls in flight on it finish first) and the upstream sees the
 * gateway's connections go. Before, a pool lived as long as the process for every address:port
 * ever used.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backendOf,
  MCP_HEADERS,
  messagesOf,
  rawInitialize,
  targetOf,
  testGateways,
} from '../../support/mcp-harness.js';
import { type RawUpstream, startRawUpstream } from '../../support/raw-upstream.js';

const gateways = testGateways();
const ALWAYS = { prefixMode: 'Always' } as const;
let leaving: RawUpstream;
let staying: RawUpstream;

beforeAll(async () => {
  // Keep-alive far beyond the test, so only the gateway can close these connections.
  [leaving, staying] = await Promise.all([
    startRawUpstream({ name: 'leaving', keepAliveMs: 120_000 }),
    startRawUpstream({ name: 'staying', keepAliveMs: 120_000 }),
  ]);
});
afterAll(async () => {
  await Promise.all([leaving.close(), staying.close()]);
});

async function call(url: string, session: string, id: string, name: string, args: object = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
  });
  return (await messagesOf(response)).at(-1);
}

describe('upstream pools after a table change', () => {
  it('close for an endpoint that left, after the call in flight on it finished', async () => {
    const both = backendOf([targetOf('leaving', leaving.port), targetOf('staying', staying.port)], ALWAYS);
    const gateway = await gateways.start(both);
    const session = await rawInitialize(gateway.url);
    expect((await call(gateway.url, session, 'a', 'staying_echo')).result).toBeDefined();
    const inFlight = call(gateway.url, session, 'slow', 'leaving_silent_json', { ms: 400 });
    await expect.poll(() => leaving.received.some((m) => m.id === 'slow')).toBe(true);
    expect(leaving.sockets).toBeGreaterThan(0);

    gateway.swap(backendOf([targetOf('staying', staying.port)], ALWAYS));
    // The call in flight finishes on its connection ...
    expect((await inFlight).result.content[0].text).toBe('silent for 400 ms');
    // ... and then the upstream sees every connection from the gateway close.
    await expect.poll(() => leaving.sockets, { timeout: 5_000 }).toBe(0);

    // The endpoint that stayed keeps its pool: the next call reuses a pooled connection.
    const opened = staying.connections;
    expect((await call(gateway.url, session, 'b', 'staying_echo')).result).toBeDefined();
    expect(staying.connections).toBe(opened);
    expect(staying.sockets).toBeGreaterThan(0);
  });
});
