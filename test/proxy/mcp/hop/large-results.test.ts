/**
 * Large results on the transparent path: a real SDK upstream (the benchmark's, JSON responses)
 * behind the gateway, a real SDK client in front. Replies of STREAM_JSON_BYTES or more are streamed
 * through with the upstream's Content-Length; the client gets every byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../../../bench/upstream.js';
import { STREAM_JSON_BYTES } from '../../../../src/proxy/upstream/reply-handler.js';
import {
  backendOf,
  connectClient,
  type Gateway,
  rawInitialize,
  startGateway,
  targetOf,
  textOf,
} from '../../../support/mcp-harness.js';
import { type RawUpstream, startRawUpstream } from '../../../support/raw-upstream.js';

let upstream: Upstream;
let gateway: Gateway;
let raw: RawUpstream;
let dripping: Gateway;

beforeAll(async () => {
  upstream = await startUpstream({ port: 0, name: 'bench', extraTools: 0, sse: false, maxSessions: 100 });
  gateway = await startGateway(backendOf([targetOf('bench', upstream.port)]));
  raw = await startRawUpstream();
  dripping = await startGateway(backendOf([targetOf('raw', raw.port)], { name: 'raw' }));
});

afterAll(async () => {
  await Promise.all([gateway.close(), dripping.close()]);
  await Promise.all([upstream.close(), raw.close()]);
});

/** A tools/call over plain fetch, so the test sees the gateway's HTTP response itself. */
function callTool(url: string, session: string, id: number, name: string, args: object): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      'mcp-session-id': session,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
  });
}

describe('large results through a transparent backend', () => {
  it('an SDK client gets 1 MiB and 64 KiB results intact, and small ones as before', async () => {
    const client = await connectClient(gateway.url);
    for (const kib of [1024, 64, 1]) {
      const text = textOf(await client.callTool({ name: 'big', arguments: { kib } }));
      expect(text).toHaveLength(kib * 1024);
    }
    await client.close();
  });

  it('the streamed reply carries the upstream Content-Length and ends the request cleanly', async () => {
    const session = await rawInitialize(gateway.url);
    const response = await callTool(gateway.url, session, 5, 'big', { kib: 300 });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const length = Number(response.headers.get('content-length'));
    expect(length).toBeGreaterThan(STREAM_JSON_BYTES);
    const body = await response.text();
    expect(Buffer.byteLength(body)).toBe(length);
    expect(JSON.parse(body)).toMatchObject({ id: 5, result: { content: [{ type: 'text' }] } });
    // The request was counted as finished, with its outcome.
    await expect
      .poll(async () => {
        const metrics = await gateway.metrics.registry.metrics();
        return /mcplane_requests_total\{[^}]*method="tools\/call"[^}]*outcome="ok"[^}]*\} [1-9]/.test(
          metrics,
        );
      })
      .toBe(true);
  });

  it('is streamed: the client has the first half while the upstream still holds back the rest', async () => {
    const session = await rawInitialize(dripping.url);
    const started = performance.now();
    const response = await callTool(dripping.url, session, 9, 'drip_json', { bytes: 400_000, ms: 1_500 });
    const reader = response.body!.getReader();
    const first = await reader.read();
    const firstAfter = performance.now() - started;
    // Collected first, nothing would arrive before the upstream's last byte (1.5 s in).
    expect(firstAfter).toBeLessThan(1_000);
    let received = first.value?.byteLength ?? 0;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      received += chunk.value.byteLength;
    expect(received).toBe(Number(response.headers.get('content-length')));
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
  });
});
