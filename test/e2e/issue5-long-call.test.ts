/**
 * A tool call that stays silent for a long time completes through the gateway. Durations are scaled
 * down by configuration (`--sse-keepalive 200ms`, a 3 s silent call); test/manual/long-call.ts runs
 * the real 10-minute call. Covered: the transparent path (upstream SSE bytes passed through, the
 * gateway adding `: keep-alive` comments between events), the multiplexed path (SSE re-framed), and
 * an upstream that sends no headers at all until its JSON answer. The session idle TTL is set
 * below the call's length: the session must still be there when the call ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_HEADERS, rawInitialize } from '../support/mcp-harness.js';
import { type RawUpstream, startRawUpstream } from '../support/raw-upstream.js';
import { type FrontedPair, frontPair } from '../support/standalone.js';

const SILENT_MS = 3000;
const KEEPALIVE_MS = 200;

let a: RawUpstream;
let b: RawUpstream;
let front: FrontedPair;
let base: string;

beforeAll(async () => {
  [a, b] = await Promise.all([startRawUpstream({ name: 'a' }), startRawUpstream({ name: 'b' })]);
  // A session idle TTL shorter than the call: a session with a call in flight is not idle.
  front = await frontPair(a, b, ['--sse-keepalive', `${KEEPALIVE_MS}ms`, '--session-idle-ttl', '1s']);
  base = front.base;
});

afterAll(async () => {
  await front?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

interface Timed {
  readonly session: string;
  readonly status: number;
  readonly type: string;
  /** [ms since the request started, text] per chunk received. */
  readonly chunks: Array<[number, string]>;
  readonly text: string;
}

async function callTimed(url: string, tool: string, args: Record<string, unknown>): Promise<Timed> {
  const session = await rawInitialize(url);
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 42,
      method: 'tools/call',
      params: { name: tool, arguments: args },
    }),
  });
  const chunks: Array<[number, string]> = [];
  const decoder = new TextDecoder();
  for await (const chunk of response.body!) chunks.push([performance.now() - started, decoder.decode(chunk)]);
  return {
    session,
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    chunks,
    text: chunks.map(([, t]) => t).join(''),
  };
}

function lastMessage(timed: Timed): { id: unknown; result?: { content: Array<{ text: string }> } } {
  const data = timed.type.startsWith('text/event-stream')
    ? timed.text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .at(-1)!
    : timed.text;
  return JSON.parse(data);
}

/** The session that carried the long call still answers (it was not expired as idle meanwhile). */
async function expectSessionAlive(url: string, session: string): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 43, method: 'tools/list' }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  await response.text();
}

/** Keep-alive comments arrived all along the silence, not in one burst at the end. */
function expectKeptAlive(timed: Timed): void {
  const comments = timed.chunks.filter(([, t]) => t.startsWith(':'));
  const expected = SILENT_MS / KEEPALIVE_MS;
  expect(comments.length).toBeGreaterThanOrEqual(expected * 0.6);
  expect(comments[0]![0]).toBeLessThan(KEEPALIVE_MS * 3);
  const gaps = comments.slice(1).map(([at], i) => at - comments[i]![0]);
  expect(Math.max(...gaps)).toBeLessThan(KEEPALIVE_MS * 4);
}

describe('long silent tool call', () => {
  it('transparent route: keep-alive comments flow while the upstream is silent, then the result', async () => {
    const timed = await callTimed(`${base}/one`, 'silent_sse', { ms: SILENT_MS });
    expect(timed.status).toBe(200);
    expect(timed.type).toMatch(/^text\/event-stream/);
    expectKeptAlive(timed);
    expect(lastMessage(timed)).toMatchObject({
      id: 42,
      result: { content: [{ text: `silent for ${SILENT_MS} ms` }] },
    });
    expect(timed.chunks.at(-1)![0]).toBeGreaterThanOrEqual(SILENT_MS - 50);
    await expectSessionAlive(`${base}/one`, timed.session);
  });

  it('multiplexed route: the same through the re-framing path', async () => {
    const timed = await callTimed(`${base}/two`, 'b_silent_sse', { ms: SILENT_MS });
    expect(timed.status).toBe(200);
    expectKeptAlive(timed);
    expect(lastMessage(timed)).toMatchObject({
      id: 42,
      result: { content: [{ text: `silent for ${SILENT_MS} ms` }] },
    });
    await expectSessionAlive(`${base}/two`, timed.session);
  });

  it('an upstream that sends no headers until its JSON answer: the client gets SSE keep-alives meanwhile', async () => {
    const timed = await callTimed(`${base}/one`, 'silent_json', { ms: SILENT_MS });
    expect(timed.status).toBe(200);
    // No silent client connection for an idle-timeout proxy to cut: SSE after one keep-alive interval.
    expect(timed.type).toMatch(/^text\/event-stream/);
    expectKeptAlive(timed);
    expect(lastMessage(timed)).toMatchObject({
      id: 42,
      result: { content: [{ text: `silent for ${SILENT_MS} ms` }] },
    });
    expect(timed.chunks.at(-1)![0]).toBeGreaterThanOrEqual(SILENT_MS - 50);
    await expectSessionAlive(`${base}/one`, timed.session);
  });
});
