/**
 * Backpressure on the gateway's own SSE streams (the multiplexed path): a client that does not read
 * pauses the upstream instead of filling the gateway's memory. The raw upstreams write as fast as
 * they are let and count what they managed to write; the clients are plain `node:http` requests
 * whose responses stay paused until the test reads them.
 */
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  backendOf,
  type Gateway,
  limitCount,
  rawInitialize,
  targetOf,
  testGateways,
} from '../../../support/mcp-harness.js';
import { type RawUpstream, startRawUpstream } from '../../../support/raw-upstream.js';
import { sessionHeaders, settled, unread } from '../../../support/unread.js';

/** ~1 KB events, several times more than every buffer on the way (kernel socket buffers included). */
const EVENT_BYTES = 1000;
const CALL_EVENTS = 40_000; // 41 MB
const STREAM_EVENTS = 30_000; // 31 MB per target
/**
 * What may sit between an upstream and a client that reads nothing, per upstream: the kernel's
 * socket buffers on both connections (Linux grows a loopback send buffer up to net.core.wmem_max,
 * 4 MiB by default; measured here: 8.6 MB for a call, 5.7 MB per target of a GET stream), the
 * upstream body and the stream queue in the gateway (16 + 64 KiB). Without backpressure the upstream
 * writes everything.
 */
const WRITTEN_BOUND = 12 * 1024 * 1024;
/** The gateway's own queue for one stream: its 64 KiB high-water mark and one event past it. */
const QUEUED_BOUND = 64 * 1024 + 2 * EVENT_BYTES;

const gateways = testGateways();
let flooder: RawUpstream;
let quiet: RawUpstream;
let eventsA: RawUpstream;
let eventsB: RawUpstream;

beforeAll(async () => {
  const events = { count: STREAM_EVENTS, bytes: EVENT_BYTES };
  [flooder, quiet, eventsA, eventsB] = await Promise.all([
    startRawUpstream({ name: 'flooder' }),
    startRawUpstream({ name: 'quiet' }),
    startRawUpstream({ name: 'a', events }),
    startRawUpstream({ name: 'b', events }),
  ]);
});
afterAll(async () => {
  await Promise.all([flooder, quiet, eventsA, eventsB].map((u) => u.close()));
});

/** A request whose response is left unread (paused) until `readAll`. */
interface Unread {
  readonly response: IncomingMessage;
  /** Read the rest of the body and return its JSON-RPC messages (and whether a keep-alive came). */
  readAll(): Promise<{ messages: any[]; text: string }>;
}

async function unreadCall(url: string, headers: Record<string, string>, body?: unknown): Promise<Unread> {
  const response = await unread(url, headers, body);
  return {
    response,
    readAll: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const messages = text
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => JSON.parse(line.slice(6)));
      return { messages, text };
    },
  };
}

async function gauge(gateway: Gateway, name: string): Promise<number | undefined> {
  const metric = await gateway.metrics.registry.getSingleMetric(name)?.get();
  return metric?.values[0]?.value;
}

/** The `data.seq` of each flood event the client got from one logger, in arrival order. */
const seqs = (messages: any[], logger: string) =>
  messages
    .filter((m) => m.method === 'notifications/message' && m.params.logger === logger)
    .map((m) => m.params.data.seq as number);

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('backpressure on the multiplexed path', () => {
  it('a call whose client does not read pauses the upstream; read later, every event arrives in order', async () => {
    const gateway = await gateways.over([
      { name: 'flooder', port: flooder.port },
      { name: 'quiet', port: quiet.port },
    ]);
    const session = await rawInitialize(gateway.url);
    const call = await unreadCall(gateway.url, sessionHeaders(session), {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'flooder_flood', arguments: { count: CALL_EVENTS, bytes: EVENT_BYTES } },
    });
    expect(call.response.headers['content-type']).toBe('text/event-stream');

    const written = await settled(() => flooder.written);
    const total = CALL_EVENTS * (EVENT_BYTES + 20);
    expect(written).toBeLessThan(WRITTEN_BOUND);
    expect(written).toBeLessThan(total / 3);
    const queued = (await gauge(gateway, 'mcplane_sse_queued_bytes')) ?? Number.POSITIVE_INFINITY;
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThanOrEqual(QUEUED_BOUND);

    const { messages } = await call.readAll();
    expect(seqs(messages, 'flooder/flood')).toEqual(range(CALL_EVENTS));
    expect(messages.at(-1)).toMatchObject({
      id: 7,
      result: { content: [{ text: `flooded ${CALL_EVENTS}` }] },
    });
    expect(await gauge(gateway, 'mcplane_sse_queued_bytes')).toBe(0);
  });

  it('a GET stream fed by two targets: both upstreams pause while it is unread; read later, each in order', async () => {
    const gateway = await gateways.over([
      { name: 'a', port: eventsA.port },
      { name: 'b', port: eventsB.port },
    ]);
    const session = await rawInitialize(gateway.url);
    const stream = await unreadCall(gateway.url, { ...sessionHeaders(session), accept: 'text/event-stream' });
    expect(stream.response.headers['content-type']).toBe('text/event-stream');

    const written = await settled(() => eventsA.written + eventsB.written);
    expect(written).toBeLessThan(2 * WRITTEN_BOUND);
    expect(written).toBeLessThan((2 * STREAM_EVENTS * (EVENT_BYTES + 20)) / 2);
    // Both targets wait on the same client stream: each was let through a bounded amount.
    expect(eventsA.written).toBeLessThan(WRITTEN_BOUND);
    expect(eventsB.written).toBeLessThan(WRITTEN_BOUND);
    const queued = (await gauge(gateway, 'mcplane_sse_queued_bytes')) ?? Number.POSITIVE_INFINITY;
    expect(queued).toBeLessThanOrEqual(QUEUED_BOUND + EVENT_BYTES);

    // Read until both floods are through, then stop (the GET stream itself stays open).
    const got = { a: [] as number[], b: [] as number[] };
    let text = '';
    for await (const chunk of stream.response) {
      text += (chunk as Buffer).toString('utf8');
      const end = text.lastIndexOf('\n\n');
      if (end < 0) continue;
      for (const line of text.slice(0, end).split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const m = JSON.parse(line.slice(6));
        if (m.method === 'notifications/message')
          got[m.params.logger === 'a/flood' ? 'a' : 'b'].push(m.params.data.seq);
      }
      text = text.slice(end + 2);
      if (got.a.length === STREAM_EVENTS && got.b.length === STREAM_EVENTS) break;
    }
    stream.response.destroy();
    expect(got.a).toEqual(range(STREAM_EVENTS));
    expect(got.b).toEqual(range(STREAM_EVENTS));
  });
});

describe('the stream cap (--max-stream-buffer)', () => {
  it("a GET stream pushed past its cap by the gateway's own notifications ends with a -32003 error; a new GET gets what came after", async () => {
    const events = { count: 10_000, bytes: EVENT_BYTES };
    const [a, b] = await Promise.all([
      startRawUpstream({ name: 'a', events }),
      startRawUpstream({ name: 'b', events }),
    ]);
    onTestFinished(() => Promise.all([a.close(), b.close()]).then(() => {}));
    const backend = backendOf([targetOf('a', a.port), targetOf('b', b.port)]);
    const gateway = await gateways.start(backend, { maxStreamBufferBytes: 32 * 1024 });
    const session = await rawInitialize(gateway.url);
    const headers = { ...sessionHeaders(session), accept: 'text/event-stream' };
    const stream = await unreadCall(gateway.url, headers);
    await settled(() => a.written + b.written);
    // Unread, the queue sits at its high-water mark (the cap, this small): the targets wait, and
    // the gateway's own list_changed (sent to every listening session when targets change) does not fit.
    expect(await limitCount(gateway.metrics, 'stream_buffer')).toBe(0);
    gateway.swap(backendOf([targetOf('a', a.port), targetOf('b', b.port), targetOf('q', quiet.port)]));
    expect(await limitCount(gateway.metrics, 'stream_buffer')).toBe(1);

    const { messages } = await stream.readAll(); // the stream has ended
    const last = messages.at(-1);
    expect(last).toEqual({
      jsonrpc: '2.0',
      error: { code: -32003, message: expect.stringContaining('--max-stream-buffer') },
    });
    expect(last.id).toBeUndefined();
    expect(last.error.message).toContain('32KiB');
    // What the client had not taken was dropped, not sent after the error.
    const seen = seqs(messages, 'a/flood').length + seqs(messages, 'b/flood').length;
    expect(seen).toBeLessThan(2 * events.count);

    // The session goes on (the targets' streams too): the client's next GET gets what came after.
    const again = await fetch(gateway.url, { headers });
    expect(again.status).toBe(200);
    const reader = again.body!.getReader();
    let text = '';
    while (!text.includes('"seq"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toMatch(/"logger":"[ab]\/flood"/);
  });
});

describe('the session buffer (--session-buffer-bytes)', () => {
  it('keeps only the newest messages that fit while no GET stream is open, counting each dropped one', async () => {
    const small = await startRawUpstream({ name: 's', events: { count: 20, bytes: EVENT_BYTES } });
    onTestFinished(() => small.close());
    const gateway = await gateways.start(backendOf([targetOf('s', small.port), targetOf('q', quiet.port)]), {
      sessionBufferBytes: 4 * 1024,
    });
    const session = await rawInitialize(gateway.url);
    // The first request opens the targets' event streams; with no GET open their events are kept.
    const ping = await fetch(gateway.url, {
      method: 'POST',
      headers: sessionHeaders(session),
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    await ping.text();
    // 20 events of ~1 KB, 4 KiB kept: the newest 4 stay, the 16 before them are counted as dropped
    // (well within the 2 s a session's first request keeps the streams open for its GET).
    const deadline = Date.now() + 1_500;
    while ((await limitCount(gateway.metrics, 'session_buffer')) < 16 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const dropped = await limitCount(gateway.metrics, 'session_buffer');
    expect(dropped).toBe(16);

    const stream = await fetch(gateway.url, {
      headers: { ...sessionHeaders(session), accept: 'text/event-stream' },
    });
    const reader = stream.body!.getReader();
    let text = '';
    while (!text.includes('"seq":19')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    const kept = [...text.matchAll(/"seq":(\d+)/g)].map((m) => Number(m[1]));
    expect(kept).toEqual(range(20).slice(dropped));
  });
});
