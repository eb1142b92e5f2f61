/**
 * SseStream's queue: producers wait at the high-water mark, keep-alives never pile up behind a
 * reader that stalls, a send past the cap ends the stream with its last message, and every byte
 * queued is counted back out.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  passThroughSse,
  SSE_HIGH_WATER_MARK,
  type SseLimits,
  SseStream,
} from '../../../../src/proxy/mcp/wire/sse-stream.js';

/** Limits whose hooks count: bytes queued now, the most ever queued, overflows. */
function counting(maxBytes: number) {
  const c = { queued: 0, peak: 0, overflows: 0 };
  const limits: SseLimits = {
    maxBytes,
    queued: (delta) => {
      c.queued += delta;
      c.peak = Math.max(c.peak, c.queued);
    },
    overflowed: () => {
      c.overflows += 1;
    },
  };
  return Object.assign(c, { limits });
}

const decoder = new TextDecoder();

async function readAll(stream: SseStream): Promise<string> {
  let text = '';
  for await (const chunk of stream.readable) text += decoder.decode(chunk);
  return text;
}

const dataOf = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)));

const kilobyte = (n: number) => ({ n, pad: 'x'.repeat(1000) });

describe('SseStream', () => {
  it('a producer that waits while full queues at most the high-water mark and one message', async () => {
    const c = counting(8 * 1024 * 1024);
    let closed = 0;
    const stream = new SseStream(60_000, () => closed++, c.limits);
    const reader = stream.readable.getReader();
    const producing = (async () => {
      for (let n = 0; n < 1000; n++) {
        while (stream.full) await stream.ready();
        expect(stream.send(kilobyte(n))).toBe(true);
      }
      stream.close();
    })();
    // Nobody reads yet: the producer stops at the mark.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stream.full).toBe(true);
    expect(c.queued).toBeGreaterThanOrEqual(SSE_HIGH_WATER_MARK);
    const got: number[] = [];
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    await producing;
    for (const m of dataOf(text)) got.push(m.n);
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(c.peak).toBeLessThan(SSE_HIGH_WATER_MARK + 1100);
    expect(c.queued).toBe(0);
    expect(closed).toBe(1);
  });

  it('skips keep-alive comments while the client has not taken what is queued', async () => {
    const c = counting(8 * 1024 * 1024);
    const stream = new SseStream(5, () => {}, c.limits);
    expect(stream.comment()).toBe(true); // queue empty: a comment goes in
    expect(stream.comment()).toBe(false); // the first one is not taken yet
    await new Promise((resolve) => setTimeout(resolve, 60)); // a dozen intervals, nobody reading
    expect(c.queued).toBe(': keep-alive\n\n'.length);
    stream.send({ last: true });
    stream.close();
    expect(await readAll(stream)).toBe(': keep-alive\n\nevent: message\nid: 1\ndata: {"last":true}\n\n');
  });

  it('accepts one message larger than the cap while below the mark; a send past the cap while full ends the stream with the last words', async () => {
    const c = counting(100 * 1024);
    let closed = 0;
    const stream = new SseStream(
      60_000,
      () => closed++,
      c.limits,
      () => ({ jsonrpc: '2.0', id: 9, error: 'over' }),
    );
    expect(stream.send({ big: 'y'.repeat(300 * 1024) })).toBe(true); // 3× the cap, queue was empty
    expect(stream.full).toBe(true);
    expect(c.overflows).toBe(0);
    expect(stream.send({ small: 1 })).toBe(false); // full, and it does not fit under the cap
    expect(stream.overflowed).toBe(true);
    expect(stream.closed).toBe(true);
    expect(closed).toBe(1);
    expect(c.overflows).toBe(1);
    expect(stream.send({ after: 1 })).toBe(false);
    // What was queued is gone; the client gets the last words, then the end.
    expect(dataOf(await readAll(stream))).toEqual([{ jsonrpc: '2.0', id: 9, error: 'over' }]);
    expect(c.queued).toBe(0);
  });

  it('below the cap, a producer that does not wait is accepted past the mark', () => {
    const c = counting(256 * 1024);
    const stream = new SseStream(60_000, () => {}, c.limits);
    for (let n = 0; n < 200; n++) expect(stream.send(kilobyte(n))).toBe(true);
    expect(c.queued).toBeGreaterThan(200 * 1000);
    expect(stream.overflowed).toBe(false);
    stream.close();
  });

  it('a client that goes away drops the queue and releases waiting producers', async () => {
    const c = counting(8 * 1024 * 1024);
    const stream = new SseStream(60_000, () => {}, c.limits);
    while (!stream.full) stream.send(kilobyte(0));
    const waiting = stream.ready();
    await stream.readable.cancel();
    await waiting;
    expect(stream.closed).toBe(true);
    expect(stream.full).toBe(false);
    expect(c.queued).toBe(0);
  });
});

describe('passThroughSse', () => {
  it('adds no keep-alive comments while the client has a chunk still to take', async () => {
    const body = new PassThrough();
    body.write('event: message\ndata: {"n":1}\n\n');
    const stream = passThroughSse(body, 5, () => {});
    await new Promise((resolve) => setTimeout(resolve, 60)); // a dozen intervals, nobody reading
    body.end();
    let text = '';
    for await (const chunk of stream) text += decoder.decode(chunk);
    expect(text).toBe('event: message\ndata: {"n":1}\n\n');
  });
});
