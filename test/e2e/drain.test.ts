/**
 * The drain, in-process (test/e2e/graceful-shutdown.test.ts and multi-replica.test.ts run it through
 * real processes and signals):
 *  - a call that cannot finish within --drain-timeout is answered with a JSON-RPC error saying so, on
 *    every way a reply travels (upstream SSE passed through, re-framed by the multiplexer, a silent
 *    upstream answered early as SSE, a JSON reply), before its connection closes;
 *  - an idle keep-alive connection is not torn down at the signal: a request a proxy sends on it a
 *    moment later is still served, with `Connection: close`, as is every response during the drain.
 */
import { rm } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { IDLE_GRACE_MS } from '../../src/proxy/server.js';
import { startTestGateway } from '../support/gateway.js';
import { freePort, portOpen } from '../support/ports.js';
import { rawConnect } from '../support/raw-http.js';
import { type RawUpstream, startRawUpstream } from '../support/raw-upstream.js';
import { transparentAndMultiplexed, writeManifests } from '../support/standalone.js';

const DRAIN = '2s';
const SHUTDOWN =
  'the gateway is shutting down: the call did not finish within the drain timeout (--drain-timeout 2s)';

let a: RawUpstream;
let b: RawUpstream;
const dirs: string[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([startRawUpstream({ name: 'a' }), startRawUpstream({ name: 'b' })]);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A gateway with route /one → a (transparent) and /two → a + b (multiplexed). */
async function gatewayWith(flags: string[]): Promise<{ gateway: Gateway; base: string; port: number }> {
  const port = await freePort();
  const dir = await writeManifests(port, transparentAndMultiplexed(a, b));
  dirs.push(dir);
  const gateway = await startTestGateway(['--manifests', dir, '--drain-timeout', DRAIN, ...flags]);
  return { gateway, base: `http://127.0.0.1:${port}`, port };
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'drain', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** The call's outcome as text: its result, or the error the client got. */
function outcome(client: Client, name: string, ms: number): Promise<string> {
  return client.callTool({ name, arguments: { ms } }, undefined, { timeout: 30_000 }).then(
    (r) => `result: ${JSON.stringify(r.content)}`,
    (err: Error) => `error: ${err.message}`,
  );
}

describe('a call still running at the drain deadline', () => {
  it('gets a JSON-RPC error naming --drain-timeout on every reply path, before its connection closes', async () => {
    // Keep-alive comments every 200 ms: a silent upstream is answered early as SSE (relayLate).
    const early = await gatewayWith(['--sse-keepalive', '200ms']);
    // Keep-alive 15 s: a silent upstream's call is still a plain JSON exchange when the drain ends.
    const plain = await gatewayWith(['--sse-keepalive', '15s']);
    const clients = await Promise.all([
      connect(`${early.base}/one`),
      connect(`${early.base}/two`),
      connect(`${plain.base}/one`),
    ]);
    const [one, two, json] = clients as [Client, Client, Client];
    const calls = {
      'upstream SSE passed through (passThroughSse)': outcome(one, 'silent_sse', 60_000),
      'silent upstream, answered early as SSE (relayLate)': outcome(one, 'silent_json', 60_000),
      'multiplexed SSE (pump)': outcome(two, 'a_silent_sse', 60_000),
      'multiplexed, silent upstream (relayLate)': outcome(two, 'b_silent_json', 60_000),
      'plain JSON exchange': outcome(json, 'silent_json', 60_000),
    };
    await new Promise((resolve) => setTimeout(resolve, 500)); // all in flight upstream, early SSE begun
    const signalled = performance.now();
    const stopped = Promise.all([early.gateway.stop(), plain.gateway.stop()]);
    const results = Object.fromEntries(
      await Promise.all(Object.entries(calls).map(async ([path, call]) => [path, await call] as const)),
    );
    const answeredAt = performance.now();
    for (const [path, result] of Object.entries(results)) expect(result, path).toContain(SHUTDOWN);
    // Answered a moment before the deadline, not at the signal and not cut at the deadline.
    expect(answeredAt - signalled).toBeGreaterThan(1000);
    expect(answeredAt - signalled).toBeLessThan(2500);
    await stopped;
    const cut = async (g: Gateway) =>
      (await g.metrics.limitRejections.get()).values.find((v) => v.labels.limit === 'drain_timeout')?.value;
    expect(await cut(early.gateway)).toBe(4);
    expect(await cut(plain.gateway)).toBe(1);
    await Promise.all(clients.map((c) => c.close()));
  }, 20_000);
});

describe('connections during the drain', () => {
  it('keeps an idle keep-alive connection open for a grace, serves it with Connection: close, refuses new ones', async () => {
    const { gateway, port } = await gatewayWith(['--sse-keepalive', '15s']);
    const conn = await rawConnect(port);
    const ask = () =>
      conn.write(`GET /one HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
    ask();
    await conn.until((t) => /\r\n\r\n\{.*\}$/s.test(t), 2000, 'the first response');
    expect(conn.text()).not.toMatch(/connection: close/i);
    const first = conn.text().length;

    const stopped = gateway.stop();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the drain has begun
    expect(await portOpen(port)).toBe(false); // no new connections
    // A proxy reusing its idle keep-alive connection a moment after the signal is still served.
    ask();
    const second = (await conn.until((t) => t.length > first && /\}$/.test(t), 2000)).slice(first);
    expect(second).toMatch(/^HTTP\/1\.1 \d{3} /);
    expect(second).toMatch(/\r\nconnection: close\r\n/i);
    // …and the server closes the connection after that answer, not before.
    const closedAt = await conn.closed;
    await stopped;
    expect(closedAt).toBeGreaterThan(0);
  });

  it('closes a connection left idle once the grace is over', async () => {
    const { gateway, port } = await gatewayWith([]);
    const conn = await rawConnect(port); // a spare connection a client opened and never used
    await new Promise((resolve) => setTimeout(resolve, 50));
    const signalled = performance.now();
    const stopped = gateway.stop();
    const closedAt = await conn.closed;
    expect(closedAt - signalled).toBeGreaterThanOrEqual(IDLE_GRACE_MS - 50);
    expect(closedAt - signalled).toBeLessThan(IDLE_GRACE_MS + 1000);
    await stopped;
  });

  it('sends Connection: close with a response that was in flight when the drain began', async () => {
    const { gateway, base } = await gatewayWith(['--sse-keepalive', '15s']);
    const client = await connect(`${base}/one`);
    // A plain fetch on its own connection, so the response headers are ours to read.
    const init = await fetch(`${base}/one`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      }),
    });
    const session = init.headers.get('mcp-session-id')!;
    await init.text();
    const call = fetch(`${base}/one`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': session,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'silent_json', arguments: { ms: 600 } },
      }),
    });
    await new Promise((resolve) => setTimeout(resolve, 200)); // upstream is working on it
    const stopped = gateway.stop();
    const response = await call;
    expect(response.headers.get('connection')).toBe('close');
    expect(await response.json()).toMatchObject({
      id: 2,
      result: { content: [{ text: 'silent for 600 ms' }] },
    });
    await stopped;
    await client.close();
  });
});
