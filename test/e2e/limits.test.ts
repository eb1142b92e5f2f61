/**
 * Connection-level limits through a real listener: a request whose headers or body trickle in is cut
 * at --headers-timeout / --request-timeout (408), while a long call and an SSE stream that arrived
 * in time are not; a client address holding --max-client-connections gets its next connection
 * answered 503 at once. Timeouts are scaled down by configuration (1 s).
 */
import { rm } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { ClientConnections, listen, serveFetch } from '../../src/proxy/server.js';
import type { LimitName } from '../../src/shared/metrics.js';
import { startTestGateway } from '../support/gateway.js';
import { rawInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { completeResponse, jsonBodyOf, rawConnect } from '../support/raw-http.js';
import { writeManifests } from '../support/standalone.js';

const TIMEOUT_MS = 1000;
const MAX_CONNECTIONS = 3;

let upstream: FixtureServer;
let gateway: Gateway;
let dir: string;
let port: number;

async function rejections(limit: LimitName): Promise<number> {
  const { values } = await gateway.metrics.limitRejections.get();
  return values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  upstream = await startFixture({ name: 'slow' });
  port = await freePort();
  dir = await writeManifests(port, [{ name: 'mcp', targets: [{ name: 'slow', port: upstream.port }] }]);
  gateway = await startTestGateway([
    '--manifests',
    dir,
    '--request-timeout',
    `${TIMEOUT_MS}ms`,
    '--headers-timeout',
    `${TIMEOUT_MS}ms`,
    '--sse-keepalive',
    '300ms',
    '--max-client-connections',
    String(MAX_CONNECTIONS),
    '--drain-timeout',
    '2s',
  ]);
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('request arrival timeouts', () => {
  it('cuts a body trickled in past --request-timeout with 408 and says which flag', async () => {
    const before = await rejections('request_timeout');
    const conn = await rawConnect(port);
    const started = performance.now();
    conn.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        'Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{',
    );
    // One byte every 200 ms: the connection is never idle, the request never complete.
    const drip = setInterval(() => conn.write(' '), 200);
    const closedAt = await conn.closed;
    clearInterval(drip);
    expect(closedAt - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(closedAt - started).toBeLessThan(TIMEOUT_MS + 2000);
    const text = conn.text();
    if (text !== '') {
      // Answered before the close (a reset may beat the answer to the client; the cut is what counts).
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(jsonBodyOf(text)).toMatchObject({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32003, message: expect.stringContaining('--request-timeout') },
      });
    }
    expect(await rejections('request_timeout')).toBe(before + 1);
  });

  it('cuts headers trickled in past --headers-timeout', async () => {
    const before = await rejections('headers_timeout');
    const conn = await rawConnect(port);
    const started = performance.now();
    conn.write(`GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    let n = 0;
    const drip = setInterval(() => conn.write(`X-Drip-${n++}: 1\r\n`), 200);
    const closedAt = await conn.closed;
    clearInterval(drip);
    expect(closedAt - started).toBeLessThan(TIMEOUT_MS + 2000);
    if (conn.text() !== '') expect(conn.text()).toContain('--headers-timeout');
    expect(await rejections('headers_timeout')).toBe(before + 1);
  });

  it('does not limit a call whose response takes longer than the request timeout, nor an SSE stream', async () => {
    const client = new Client({ name: 'limits', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`));
    await client.connect(transport);
    // A session of its own for the GET stream (the SDK client's own GET would replace it).
    const session = await rawInitialize(`http://127.0.0.1:${port}/mcp`);
    const stream = await fetch(`http://127.0.0.1:${port}/mcp`, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': session },
    });
    expect(stream.status).toBe(200);
    const opened = performance.now();
    const reader = stream.body!.getReader();
    const arrivals: number[] = [];
    let ended = false;
    const reading = (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) arrivals.push(performance.now());
      ended = true;
    })().catch(() => {
      ended = true;
    });
    const call = await client.callTool({ name: 'sleep', arguments: { ms: 3000 } }, undefined, {
      timeout: 20_000,
    });
    expect(call.content).toEqual([{ type: 'text', text: 'slept 3000' }]);
    // The GET stream, open for 3 s, still delivers keep-alives and has not been cut.
    expect(ended).toBe(false);
    expect(arrivals.some((at) => at - opened > 3 * TIMEOUT_MS - 500)).toBe(true);
    await reader.cancel();
    await reading;
    await client.close();
  }, 20_000);
});

describe('--max-client-connections', () => {
  it('answers a connection over the cap at once with 503, Retry-After and a JSON-RPC body, then closes it', async () => {
    // An address of its own: the earlier tests' clients may still hold keep-alive connections from 127.0.0.1.
    const from = { localAddress: '127.0.0.3' };
    const before = await rejections('client_connections');
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => rawConnect(port, from)));
    await sleep(100); // the server has accepted them
    const extra = await rawConnect(port, from);
    const text = await extra.until(completeResponse, 2000, 'the 503');
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toMatch(/\r\nRetry-After: \d+\r\n/i);
    expect(jsonBodyOf(text)).toMatchObject({
      jsonrpc: '2.0',
      error: { message: expect.stringContaining('--max-client-connections') },
    });
    await extra.closed;
    expect(await rejections('client_connections')).toBe(before + 1);

    // Another address is not affected by this one's connections.
    const other = await rawConnect(port, { localAddress: '127.0.0.2' });
    other.write(`GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    expect(await other.until((t) => t.startsWith('HTTP/1.1 '), 2000)).not.toMatch(/^HTTP\/1\.1 503/);
    await other.closed;

    // A slot freed is a slot to use.
    held[0]!.destroy();
    await held[0]!.closed;
    await sleep(50);
    const next = await rawConnect(port, from);
    next.write(`GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    expect(await next.until((t) => t.startsWith('HTTP/1.1 '), 2000)).not.toMatch(/^HTTP\/1\.1 503/);
    for (const conn of held) conn.destroy();
  });

  it('keeps its map of addresses bounded: an address leaves when its last connection closes', async () => {
    const clients = new ClientConnections(2);
    const server = await listen(
      serveFetch(() => new Response('ok')),
      0,
      '127.0.0.1',
      { clients },
    );
    try {
      const a = await Promise.all([rawConnect(server.port), rawConnect(server.port)]);
      const b = await rawConnect(server.port, { localAddress: '127.0.0.2' });
      await sleep(50);
      expect(clients.addresses).toBe(2);
      const refused = await rawConnect(server.port);
      await refused.until((t) => t.startsWith('HTTP/1.1 503'), 2000);
      await refused.closed;
      for (const conn of [...a, b]) conn.destroy();
      await Promise.all([...a, b].map((conn) => conn.closed));
      await sleep(50);
      expect(clients.addresses).toBe(0);
      // 0 means no limit.
      const unlimited = new ClientConnections(0);
      for (let i = 0; i < 1000; i++) expect(unlimited.acquire('10.0.0.1')).toBe(true);
      for (let i = 0; i < 1000; i++) unlimited.release('10.0.0.1');
      expect(unlimited.addresses).toBe(0);
    } finally {
      server.destroy();
      await server.close();
    }
  });
});
