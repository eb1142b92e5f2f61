/** A session's server→client channel: the GET stream, the bounded buffer, the grace period. */
import { describe, expect, it } from 'vitest';
import type { EventSink } from '../../../../src/proxy/mcp/session/session-events.js';
import { SessionEvents } from '../../../../src/proxy/mcp/session/session-events.js';

class Sink implements EventSink {
  readonly got: unknown[] = [];
  closed = false;
  send(message: unknown): boolean {
    if (this.closed) return false;
    this.got.push(message);
    return true;
  }
  close(): void {
    this.closed = true;
  }
}

describe('SessionEvents', () => {
  it('drops messages when no client stream is open or expected', () => {
    const events = new SessionEvents(1000, 3);
    expect(events.send(1)).toBe(false);
    expect(events.listen('a')).toBeUndefined();
  });

  it('keeps a bounded buffer while a stream is expected, oldest first out, and flushes it on open', () => {
    const events = new SessionEvents(1000, 3);
    events.expect();
    for (const n of [1, 2, 3, 4]) expect(events.send(n)).toBe(true);
    expect(events.buffered).toBe(3);
    const sink = new Sink();
    events.open(sink);
    expect(sink.got).toEqual([2, 3, 4]);
    events.send(5);
    expect(sink.got).toEqual([2, 3, 4, 5]);
    events.close();
  });

  it('a new stream replaces the old one; a closed stream starts the grace period', () => {
    const events = new SessionEvents(1000, 3);
    const first = new Sink();
    const second = new Sink();
    events.open(first);
    events.open(second);
    expect(first.closed).toBe(true);
    events.closed(first);
    expect(events.sink).toBe(second);
    events.closed(second);
    expect(events.sink).toBeUndefined();
    expect(events.send('kept')).toBe(true);
    expect(events.buffered).toBe(1);
    events.close();
  });

  it('after the grace period, upstream listeners are aborted and the buffer dropped', async () => {
    const events = new SessionEvents(30, 3);
    events.expect();
    const signal = events.listen('a')!;
    expect(events.listen('a')).toBeUndefined();
    events.send('lost');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(signal.aborted).toBe(true);
    expect(events.buffered).toBe(0);
    expect(events.isListening('a')).toBe(false);
    expect(events.send('x')).toBe(false);
  });
});
