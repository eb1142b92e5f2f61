/**
 * SEP-1699 polling (2025-11-25) through mcplane: an SDK server with an event store closes a call's
 * stream before its answer, and mcplane takes the stream back up with `Last-Event-ID` in the
 * target's session, so every client — a 2025 SDK client on a transparent and on a multiplexed
 * route, a 2026-07-28 client — gets one unbroken answer, progress included. A target that will not
 * give the stream back leaves the client with the call's error, not a stream that just ends.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { MCP_HEADERS, messagesOf, rawInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { modernPost } from '../support/modern-wire.js';
import { type RawUpstream, startRawUpstream } from '../support/raw-upstream.js';
import { type FrontedPair, frontPair } from '../support/standalone.js';

// The tool's closes (300 ms apart) are further apart than mcplane's shortest wait before resuming
// (100 ms), so each close normally finds the stream taken back up; one that does not closes nothing.
let a: FixtureServer;
let b: FixtureServer;
let front: FrontedPair;
let gateway: Gateway;
let base: string;

beforeAll(async () => {
  [a, b] = await Promise.all([
    startFixture({ name: 'a', polling: { retryMs: 20 } }),
    startFixture({ name: 'b' }),
  ]);
  front = await frontPair(a, b);
  ({ gateway, base } = front);
});

afterAll(async () => {
  await front?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

/** The GETs target a received with a Last-Event-ID since `from` (mcplane resuming a stream). */
function resumes(from: number): number {
  return a.seen.slice(from).filter((r) => r.method === 'GET' && r.headers['last-event-id']).length;
}

/** mcplane_upstream_stream_resumes_total of target a with this result, over both backends. */
async function resumed(result: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('mcplane_upstream_stream_resumes_total{') &&
        l.includes(`result="${result}"`) &&
        l.includes('target="a"'),
    )
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('a call stream its 2025-11-25 target closes before the answer (SEP-1699)', () => {
  it.each([
    ['transparent', '/one', 'poll'],
    ['multiplexed', '/two', 'a_poll'],
  ] as const)('2025 SDK client, %s route: one answer, progress and all', async (_, path, tool) => {
    const client = new Client({ name: 'poller', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}${path}`)));
    try {
      const from = a.seen.length;
      const before = await resumed('resumed');
      const progress: number[] = [];
      const result = await client.callTool({ name: tool, arguments: { closes: 2, ms: 300 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
        timeout: 10_000,
      });
      expect(result.content).toEqual([{ type: 'text', text: 'a polled 2 times' }]);
      expect(progress).toEqual([1, 2]);
      // mcplane resumed each close itself: the client never had to (its GETs carry no Last-Event-ID).
      // (A close that came while the stream was not taken back up yet closes nothing: at most 2.)
      const gets = resumes(from);
      expect(gets).toBeGreaterThanOrEqual(1);
      expect(gets).toBeLessThanOrEqual(2);
      expect((await resumed('resumed')) - before).toBe(gets);
    } finally {
      await client.close();
    }
  });

  it('2026-07-28 client (mcplane owns the 2025 session): one answer', async () => {
    const from = a.seen.length;
    const { status, body } = await modernPost(`${base}/one`, 'tools/call', {
      params: { name: 'poll', arguments: { closes: 3, ms: 300 } },
    });
    expect(status).toBe(200);
    expect(body.result).toMatchObject({
      resultType: 'complete',
      content: [{ type: 'text', text: 'a polled 3 times' }],
    });
    expect(resumes(from)).toBeGreaterThanOrEqual(1);
    expect(resumes(from)).toBeLessThanOrEqual(3);
  });
});

describe('a call stream its target closes early and will not give back', () => {
  let raw: RawUpstream;
  let other: RawUpstream;
  let rawFront: FrontedPair;
  let rawBase: string;
  beforeAll(async () => {
    [raw, other] = await Promise.all([startRawUpstream({ name: 'a' }), startRawUpstream({ name: 'b' })]);
    rawFront = await frontPair(raw, other);
    rawBase = rawFront.base;
  });
  afterAll(async () => {
    await rawFront?.stop();
    await Promise.all([raw?.close(), other?.close()]);
  });

  const refused = 'target "a" ended its stream without a response (it answered the resuming GET with 405)';

  it.each([
    ['transparent', '/one', 'closes_early'],
    ['multiplexed', '/two', 'a_closes_early'],
  ] as const)("2025 client, %s route: the call's -32002 error", async (_, path, tool) => {
    const session = await rawInitialize(`${rawBase}${path}`, '2025-11-25');
    const response = await fetch(`${rawBase}${path}`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: tool } }),
    });
    const answer = (await messagesOf(response)).find((m) => m.id === 5);
    expect(answer?.error).toMatchObject({ code: -32002, message: expect.stringContaining(refused) });
  });

  it("2026-07-28 client: the call's -32002 error", async () => {
    const { body } = await modernPost(`${rawBase}/one`, 'tools/call', {
      params: { name: 'closes_early', arguments: {} },
    });
    expect(body.error).toMatchObject({ code: -32002, message: expect.stringContaining(refused) });
  });
});
