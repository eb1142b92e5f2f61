import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { LegacySseTransport } from '../../../src/proxy/upstream/legacy-sse.js';
import { DESTINATION_HIGH_WATER_MARK } from '../../../src/proxy/upstream/legacy-sse-connection.js';
import type { UpstreamReply } from '../../../src/proxy/upstream/transport.js';
import type { McpTarget } from '../../../src/shared/table.js';
import { backendOf, type Gateway, rawInitialize, targetOf, testGateways } from '../../support/mcp-harness.js';
import { type RawLegacySse, startRawLegacySse } from '../../support/raw-legacy-sse.js';
import { sessionHeaders, settled, unread } from '../../support/unread.js';

/** ~1 KB events, several times more than every buffer on the way (kernel socket buffers included). */
const EVENT_BYTES = 1000;
const EVENTS = 40_000; // about 40 MB
/**
 * What may sit on one TCP connection between a writer and a reader that takes nothing: the kernel's
 * socket buffers (Linux grows a loopback send buffer up to net.core.wmem_max, 4 MiB by default, and
 * the receive window as the reader kept up before it stopped; measured here: 4.3 to 5.9 MB), plus
 * the undici body and the destination Readable (64 KiB each). Through the gateway the client's
 * connection adds as much again (measured: 8.4 to 10.5 MB in all). Without backpressure the target
 * writes every event: about 40 MB.
 */
const LEG_BOUND = 8 * 1024 * 1024;
/** One destination Readable: its high-water mark and the one event pushed past it. */
const HELD_BOUND = DESTINATION_HIGH_WATER_MARK + 2 * EVENT_BYTES;
/** The gateway's queue for one downstream stream: its 64 KiB high-water mark and one event past it. */
const QUEUED_BOUND = 64 * 1024 + 2 * EVENT_BYTES;

const gateways = testGateways();
let legacy: RawLegacySse;
let quiet: RawLegacySse;

beforeAll(async () => {
  [legacy, quiet] = await Promise.all([startRawLegacySse('legacy'), startRawLegacySse('quiet')]);
});
afterAll(async () => {
  await Promise.all([legacy.close(), quiet.close()]);
});

const sseTarget = (server: RawLegacySse): McpTarget =>
  targetOf(server.name, server.port, { protocol: 'SSE', path: '/sse' });

/** The JSON-RPC messages of SSE text. */
const messagesIn = (text: string): any[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)));

/** The numbers of the flood events among `messages`, in arrival order (progress or log). */
const seqs = (messages: any[]): number[] =>
  messages.flatMap((m) => {
    if (m.method === 'notifications/progress') return [m.params.progress as number];
    if (m.method === 'notifications/message') return [m.params.data.seq as number];
    return [];
  });

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Read a body's SSE messages until it ends, or (for a stream that stays open) until `floods` flood events came. */
async function readAll(body: AsyncIterable<unknown>, floods = Number.POSITIVE_INFINITY): Promise<any[]> {
  const messages: any[] = [];
  let seen = 0;
  let text = '';
  for await (const chunk of body) {
    text += (chunk as Buffer).toString('utf8');
    const end = text.lastIndexOf('\n\n');
    if (end < 0) continue;
    const got = messagesIn(text.slice(0, end));
    messages.push(...got);
    seen += seqs(got).length;
    text = text.slice(end + 2);
    if (seen >= floods) break;
  }
  return messages;
}

const floodCall = (id: number, token?: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: {
    name: 'flood',
    arguments: { count: EVENTS, bytes: EVENT_BYTES },
    ...(token === undefined ? {} : { _meta: { progressToken: token } }),
  },
});

describe('LegacySseTransport on its own', () => {
  /** A transport with one initialized connection to the raw legacy target. */
  async function connected() {
    const transport = new LegacySseTransport();
    onTestFinished(() => transport.close(true));
    const target = sseTarget(legacy);
    const hop = { target, endpoint: { address: '127.0.0.1', port: legacy.port } };
    const init = await transport.post({
      ...hop,
      sessionId: undefined,
      protocolVersion: undefined,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
      signal: AbortSignal.timeout(2_000),
    });
    const base = { ...hop, sessionId: init.sessionId, protocolVersion: '2024-11-05' };
    const post = (message: unknown) => transport.post({ ...base, body: JSON.stringify(message) });
    return { transport, base, post };
  }

  /** Whether `promise` has settled (checked after the flood has settled: no race left). */
  function watch<T>(promise: Promise<T>): { readonly done: boolean } {
    const state = { done: false };
    promise.then(
      () => {
        state.done = true;
      },
      () => {
        state.done = true;
      },
    );
    return state;
  }

  it("an unread call answer holds the target's stream at one high-water mark; read later, all arrives in order", async () => {
    const { post } = await connected();
    const before = legacy.written;
    const reply = await post(floodCall(1, 'p'));
    expect(reply.kind).toBe('sse');
    const body = (reply as Extract<UpstreamReply, { kind: 'sse' }>).body;
    // Another request on the same session: its answer is behind the flood on the one stream.
    const echo = post({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'after' } },
    });
    const echoed = watch(echo);

    const written = (await settled(() => legacy.written)) - before;
    expect(written).toBeLessThan(LEG_BOUND);
    expect(body.readableLength).toBeGreaterThanOrEqual(DESTINATION_HIGH_WATER_MARK);
    expect(body.readableLength).toBeLessThanOrEqual(HELD_BOUND);
    // As it would be talking to the target directly: the other answer waits for this reader.
    expect(echoed.done).toBe(false);

    const messages = await readAll(body);
    expect(seqs(messages)).toEqual(range(EVENTS));
    expect(messages.at(-1)).toMatchObject({ id: 1, result: { content: [{ text: `flooded ${EVENTS}` }] } });
    const answer = await echo;
    expect(answer.kind).toBe('json');
    expect(JSON.parse((answer as Extract<UpstreamReply, { kind: 'json' }>).body.toString())).toMatchObject({
      id: 2,
      result: { content: [{ text: 'echo after' }] },
    });
  });

  it("an unread listener holds the target's stream the same way; read later, all arrives in order", async () => {
    const { transport, base, post } = await connected();
    const listener = (await transport.listen({ ...base, signal: new AbortController().signal })) as Readable;
    const before = legacy.written;
    // No progress token: the target's log notifications go to the listener, the answer to the call.
    const call = post(floodCall(1));
    const answered = watch(call);

    const written = (await settled(() => legacy.written)) - before;
    expect(written).toBeLessThan(LEG_BOUND);
    expect(listener.readableLength).toBeGreaterThanOrEqual(DESTINATION_HIGH_WATER_MARK);
    expect(listener.readableLength).toBeLessThanOrEqual(HELD_BOUND);
    expect(answered.done).toBe(false);

    const messages = await readAll(listener, EVENTS);
    listener.destroy();
    expect(seqs(messages)).toEqual(range(EVENTS));
    const reply = await call;
    expect(reply.kind).toBe('json');
    expect(JSON.parse((reply as Extract<UpstreamReply, { kind: 'json' }>).body.toString())).toMatchObject({
      id: 1,
      result: { content: [{ text: `flooded ${EVENTS}` }] },
    });
  });
});

async function gauge(gateway: Gateway, name: string): Promise<number | undefined> {
  const metric = await gateway.metrics.registry.getSingleMetric(name)?.get();
  return metric?.values[0]?.value;
}

describe('through the gateway', () => {
  for (const shape of ['transparent', 'multiplexed'] as const) {
    it(`a ${shape} call whose client does not read pauses the legacy target; read later, every event arrives in order`, async () => {
      const targets = shape === 'transparent' ? [sseTarget(legacy)] : [sseTarget(legacy), sseTarget(quiet)];
      const gateway = await gateways.start(backendOf(targets));
      const session = await rawInitialize(gateway.url);
      const before = legacy.written;
      const name = shape === 'transparent' ? 'flood' : 'legacy_flood';
      const call = floodCall(7, 'p');
      const response = await unread(gateway.url, sessionHeaders(session), {
        ...call,
        params: { ...call.params, name },
      });
      expect(response.headers['content-type']).toBe('text/event-stream');

      const written = (await settled(() => legacy.written)) - before;
      expect(written).toBeLessThan(2 * LEG_BOUND);
      if (shape === 'multiplexed') {
        const queued = (await gauge(gateway, 'mcplane_sse_queued_bytes')) ?? Number.POSITIVE_INFINITY;
        expect(queued).toBeLessThanOrEqual(QUEUED_BOUND);
      }

      const messages = await readAll(response);
      expect(seqs(messages)).toEqual(range(EVENTS));
      expect(
        messages
          .filter((m) => m.method === 'notifications/progress')
          .every((m) => m.params.progressToken === 'p'),
      ).toBe(true);
      expect(messages.at(-1)).toMatchObject({ id: 7, result: { content: [{ text: `flooded ${EVENTS}` }] } });
    });
  }

  it('a GET stream whose client does not read pauses the legacy target; read later, every event arrives and the call completes', async () => {
    const gateway = await gateways.start(backendOf([sseTarget(legacy)]));
    const session = await rawInitialize(gateway.url);
    const stream = await unread(gateway.url, { ...sessionHeaders(session), accept: 'text/event-stream' });
    expect(stream.headers['content-type']).toBe('text/event-stream');
    const before = legacy.written;
    // The target's log notifications go to the session's GET stream; the call's answer comes after them.
    const call = fetch(gateway.url, {
      method: 'POST',
      headers: sessionHeaders(session),
      body: JSON.stringify(floodCall(8)),
    });

    const written = (await settled(() => legacy.written)) - before;
    expect(written).toBeLessThan(2 * LEG_BOUND);

    const messages = await readAll(stream, EVENTS);
    stream.destroy();
    expect(seqs(messages)).toEqual(range(EVENTS));
    const answer = await call;
    const text = await answer.text();
    const result = answer.headers.get('content-type')?.startsWith('text/event-stream')
      ? messagesIn(text).at(-1)
      : JSON.parse(text);
    expect(result).toMatchObject({ id: 8, result: { content: [{ text: `flooded ${EVENTS}` }] } });
  });
});
