/**
 * Every bad input gets a clear error with the right HTTP status and JSON-RPC code, and the
 * gateway keeps serving afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backendOf,
  connectClient,
  type Gateway,
  limitCount,
  MCP_HEADERS,
  postInitialize,
  rawInitialize,
  startGateway,
  targetOf,
  textOf,
} from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';

let upstream: FixtureServer;
let gateway: Gateway;
let session: string;

beforeAll(async () => {
  upstream = await startFixture({ name: 'alpha' });
  gateway = await startGateway(backendOf([targetOf('alpha', upstream.port)]), { maxBodyBytes: 4096 });
  session = await rawInitialize(gateway.url);
});
afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

async function post(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const listTools = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' });

describe('bad input', () => {
  it.each([
    ['malformed JSON', '{"jsonrpc": "2.0", "id": 1,', {}, 400, -32700, 'Parse error'],
    ['a JSON value that is not JSON-RPC', '{"hello": "world"}', {}, 400, -32600, 'jsonrpc must be "2.0"'],
    ['a non-object message', '42', {}, 400, -32600, 'must be an object'],
    ['a batch', `[${listTools}]`, {}, 400, -32600, 'batches are not allowed in protocol 2025-06-18'],
    [
      'params that are not an object',
      '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":3}',
      {},
      400,
      -32600,
      'params',
    ],
    [
      'Accept without text/event-stream',
      listTools,
      { accept: 'application/json' },
      406,
      -32600,
      'text/event-stream',
    ],
    ['a text/plain body', listTools, { 'content-type': 'text/plain' }, 415, -32600, 'application/json'],
    [
      'an unsupported MCP-Protocol-Version',
      listTools,
      { 'mcp-protocol-version': '1999-01-01' },
      400,
      -32022,
      '2025-06-18',
    ],
    [
      'an unknown session',
      listTools,
      { 'mcp-session-id': 'k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      404,
      -32001,
      'Session not found',
    ],
    [
      'a session id sealed with an unknown key',
      listTools,
      { 'mcp-session-id': 'zz.AAAA' },
      404,
      -32001,
      'Session not found',
    ],
  ])('%s → HTTP %i', async (_name, body, headers, status, code, message) => {
    const answer = await post(body, headers as Record<string, string>);
    expect(answer.status).toBe(status);
    expect(answer.body.error.code).toBe(code);
    expect(answer.body.error.message).toContain(message);
  });

  it('a request without Mcp-Session-Id → 400 saying the header is required', async () => {
    const response = await fetch(gateway.url, { method: 'POST', headers: MCP_HEADERS, body: listTools });
    expect(response.status).toBe(400);
    const body = (await response.json()) as any;
    expect(body.error.code).toBe(-32600);
    expect(body.error.message).toContain('Mcp-Session-Id header is required');
  });

  it('a body over the limit → 413, also when streamed without Content-Length; each counted', async () => {
    const counted = await limitCount(gateway.metrics, 'body_bytes');
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
      params: { pad: 'x'.repeat(10_000) },
    });
    expect((await post(big)).status).toBe(413);
    const chunks = [big.slice(0, 3000), big.slice(3000)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(((await response.json()) as any).error.message).toContain('4096 bytes');
    expect(await limitCount(gateway.metrics, 'body_bytes')).toBe(counted + 2);
  });

  it('a tampered session id → 404', async () => {
    const last = session.at(-2) === 'A' ? 'B' : 'A';
    const tampered = session.slice(0, -2) + last + session.at(-1);
    expect((await post(listTools, { 'mcp-session-id': tampered })).status).toBe(404);
  });

  it('a session issued for another backend → 404', async () => {
    const other = await startGateway(
      backendOf([targetOf('alpha', upstream.port)], { name: 'other-backend' }),
    );
    try {
      const response = await fetch(other.url, {
        method: 'POST',
        headers: { ...MCP_HEADERS, 'mcp-session-id': session },
        body: listTools,
      });
      expect(response.status).toBe(404);
    } finally {
      await other.close();
    }
  });

  it('GET without Accept: text/event-stream → 406; unknown methods → 405', async () => {
    const get = await fetch(gateway.url, {
      headers: { accept: 'application/json', 'mcp-session-id': session },
    });
    expect(get.status).toBe(406);
    await get.text();
    const put = await fetch(gateway.url, { method: 'PUT', headers: MCP_HEADERS, body: listTools });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
  });

  it('notifications alone → 202 with no body', async () => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
  });

  it('keeps serving after all of the above', async () => {
    const client = await connectClient(gateway.url);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'still here' } }))).toBe(
      'Echo: still here',
    );
    await client.close();
  });
});

describe('JSON-RPC batches', () => {
  it('are served for a 2025-03-26 session: one JSON array with an answer per request', async () => {
    const legacy = await rawInitialize(gateway.url, '2025-03-26');
    const batch = [
      {
        jsonrpc: '2.0',
        id: 'a',
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'one' } },
      },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 'b', method: 'ping' },
      { jsonrpc: '2.0', id: 'c', method: 'initialize', params: { protocolVersion: '2025-03-26' } },
      { nonsense: true },
    ];
    const answer = await post(JSON.stringify(batch), {
      'mcp-session-id': legacy,
      'mcp-protocol-version': '2025-03-26',
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toHaveLength(4);
    expect(answer.body[0]).toMatchObject({ id: 'a', result: { content: [{ text: 'Echo: one' }] } });
    expect(answer.body[1]).toEqual({ jsonrpc: '2.0', id: 'b', result: {} });
    expect(answer.body[2]).toMatchObject({ id: 'c', error: { code: -32600 } });
    expect(answer.body[3]).toMatchObject({ id: null, error: { code: -32600 } });
    expect((await post('[]', { 'mcp-session-id': legacy })).status).toBe(400);
  });
});

describe('backends that cannot serve', () => {
  it('zero targets → 503 naming the backend', async () => {
    const empty = await startGateway(backendOf([], { name: 'empty-backend' }));
    try {
      const response = await postInitialize(empty.url);
      expect(response.status).toBe(503);
      expect(((await response.json()) as any).error.message).toContain('default/empty-backend');
    } finally {
      await empty.close();
    }
  });
});
