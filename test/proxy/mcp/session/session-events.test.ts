/** A session's server→client channel: the GET stream, the bounded buffer, the grace period. */
import { describe, expect, it } from 'vitest';
import type { EventSink, SessionBufferLimits } from '../../../../src/proxy/mcp/session/session-events.js';
import { SessionEvents } from '../../../../src/proxy/mcp/session/session-events.js';

class Sink implements EventSink {
  readonly got: unknown[] = [];
  closed = false;
  readonly full = false;
  send(message: unknown): boolean {
    if (this.closed) return false;
    this.got.push(message);
    return true;
  }
  ready(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
}

/** Three messages, no byte bound to speak of; `dropped` counts. */
function limits(messages = 3, bytes = 1024 * 1024) {
  const counted = { dropped: 0 };
  const l: SessionBufferLimits = { messages, bytes, dropped: () => counted.dropped++ };
  return Object.assign(counted, { l });
}

describe('SessionEvents', () => {
  it('drops messages when no client stream is open or expected', () => {
    const events = new SessionEvents(1000);
    expect(events.send(1, limits().l)).toBe(false);
    expect(events.listen('a')).toBeUndefined();
  });

  it('keeps a bounded buffer while a stream is expected, oldest first out, and flushes it on open', () => {
    const events = new SessionEvents(1000);
    const bounds = limits();
    events.expect();
    for (const n of [1, 2, 3, 4]) expect(events.send(n, bounds.l)).toBe(true);
    expect(events.buffered).toBe(3);
    expect(bounds.dropped).toBe(1);
    const sink = new Sink();
    events.open(sink);
    expect(sink.got).toEqual([2, 3, 4]);
    expect(events.bufferedBytes).toBe(0);
    events.send(5, bounds.l);
    expect(sink.got).toEqual([2, 3, 4, 5]);
    events.close();
  });

  it('a new stream replaces the old one; a closed stream starts the grace period', () => {
    const events = new SessionEvents(1000);
    const first = new Sink();
    const second = new Sink();
    events.open(first);
    events.open(second);
    expect(first.closed).toBe(true);
    events.closed(first);
    expect(events.sink).toBe(second);
    events.closed(second);
    expect(events.sink).toBeUndefined();
    expect(events.send('kept', limits().l)).toBe(true);
    expect(events.buffered).toBe(1);
    events.close();
  });

  it('after the grace period, upstream listeners are aborted and the buffer dropped', async () => {
    const events = new SessionEvents(30);
    events.expect();
    const signal = events.listen('a')!;
    expect(events.listen('a')).toBeUndefined();
    events.send('lost', limits().l);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(signal.aborted).toBe(true);
    expect(events.buffered).toBe(0);
    expect(events.isListening('a')).toBe(false);
    expect(events.send('x', limits().l)).toBe(false);
  });

  it('keeps at most the byte bound (as JSON), dropping the oldest and counting each', () => {
    const events = new SessionEvents(1000);
    const kilobyte = (n: number) => ({ n, pad: 'x'.repeat(1000) }); // 1016 bytes of JSON
    const bounds = limits(64, 3 * 1024);
    events.expect();
    for (let n = 0; n < 10; n++) expect(events.send(kilobyte(n), bounds.l)).toBe(true);
    expect(events.buffered).toBe(3);
    expect(events.bufferedBytes).toBe(3 * 1016);
    expect(bounds.dropped).toBe(7);
    // One message over the bound by itself is not kept either (the bound is on what is held).
    events.send({ pad: 'y'.repeat(4000) }, bounds.l);
    expect(events.buffered).toBe(0);
    expect(events.bufferedBytes).toBe(0);
    expect(bounds.dropped).toBe(11);
    events.send(kilobyte(10), bounds.l);
    const sink = new Sink();
    events.open(sink);
    expect(sink.got).toEqual([kilobyte(10)]);
    events.close();
  });
});
