/**
 * A call whose target answers in SSE with nothing but the response (a 2026-07-28 client, a 2025
 * client on a multiplexed route, and on a transparent one): the client gets one JSON answer, and the
 * upstream stream is read to its end, so the gateway keeps its connection to the target.
 * (The silent and streaming cases stay SSE: issue5-long-call.test.ts, mux/client-to-server.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_HEADERS, rawInitialize } from '../support/mcp-harness.js';
import { type RawUpstream, startRawUpstream } from '../support/raw-upstream.js';
import { type FrontedPair, frontPair } from '../support/standalone.js';

const CALLS = 20;

let a: RawUpstream;
let b: RawUpstream;
let front: FrontedPair;
let base: string;

beforeAll(async () => {
  [a, b] = await Promise.all([startRawUpstream({ name: 'a' }), startRawUpstream({ name: 'b' })]);
  front = await frontPair(a, b);
  base = front.base;
});

afterAll(async () => {
  await front?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

async function call(url: string, tool: string, id: number, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: {
        name: tool,
        arguments: { ms: 0 },
        ...(headers['mcp-protocol-version'] === '2026-07-28'
          ? {
              _meta: {
                'io.modelcontextprotocol/protocolVersion': '2026-07-28',
                'io.modelcontextprotocol/clientCapabilities': {},
                'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
              },
            }
          : {}),
      },
    }),
  });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

describe('an SSE answer holding only the response', () => {
  it.each([
    [
      '2026-07-28 client',
      '/one',
      'silent_sse',
      { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'silent_sse' },
      { resultType: 'complete' },
    ],
    ['2025 client, multiplexed', '/two', 'a_silent_sse', undefined, {}],
    ['2025 client, transparent', '/one', 'silent_sse', undefined, {}],
  ] as const)('%s: one JSON answer, the target connection kept', async (_, path, tool, modern, extra) => {
    const headers = modern ?? {
      'mcp-session-id': await rawInitialize(`${base}${path}`),
      'mcp-protocol-version': '2025-11-25',
    };
    await call(`${base}${path}`, tool, 0, headers); // the pool's connection to the target is open
    const opened = a.connections;
    for (let id = 1; id <= CALLS; id++) {
      const answer = await call(`${base}${path}`, tool, id, headers);
      expect(answer.status).toBe(200);
      expect(answer.type).toMatch(/^application\/json/);
      expect(JSON.parse(answer.text)).toEqual({
        jsonrpc: '2.0',
        id,
        result: { ...extra, content: [{ type: 'text', text: 'silent for 0 ms' }] },
      });
      // The next call after the stream's end (20 ms after the answer) has arrived: one connection.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Each stream was read to its end, not cut after the answer (which costs a connection a call).
    expect(a.connections - opened).toBeLessThanOrEqual(1);
  });
});
