/**
 * SseParser under hostile input: the size bound holds even when the oversize event completes in the
 * chunk that crosses it, and a long line arriving in many small chunks costs linear time (it used to
 * re-join and re-scan the whole line per chunk: ~6 s of CPU for one 32 MiB event).
 */
import { describe, expect, it } from 'vitest';
import { SseEventTooLarge, SseParser } from '../../../src/proxy/upstream/sse-parser.js';

describe('SseParser bounds', () => {
  it('refuses an event that crosses the bound and ends in the same chunk', () => {
    const parser = new SseParser(100);
    expect(parser.feed(`data: ${'x'.repeat(90)}`)).toEqual([]);
    expect(() => parser.feed(`${'x'.repeat(20)}\n\n`)).toThrow(SseEventTooLarge);
    expect(() => new SseParser(100).feed(`data: ${'y'.repeat(150)}\n\n`)).toThrow(SseEventTooLarge);
    // Many data lines adding up count too.
    expect(() => new SseParser(100).feed(`${'data: 0123456789\n'.repeat(12)}\n`)).toThrow(SseEventTooLarge);
  });

  it('still accepts an event right under the bound', () => {
    const [event] = new SseParser(100).feed(`data: ${'z'.repeat(99)}\n\n`);
    expect(event?.data.length).toBe(99);
  });

  it('parses a 32 MiB event fed in 64 KiB chunks in linear time', () => {
    const parser = new SseParser(40 * 1024 * 1024);
    const piece = 'x'.repeat(64 * 1024);
    const started = performance.now();
    expect(parser.feed('event: message\ndata: ')).toEqual([]);
    for (let i = 0; i < 512; i++) expect(parser.feed(piece)).toEqual([]);
    const [event] = parser.feed('\n\n');
    expect(event?.data.length).toBe(32 * 1024 * 1024);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('splits a chunk of many short lines in linear time', () => {
    const parser = new SseParser(1024);
    const chunk = 'data: {}\n\n'.repeat(50_000);
    const started = performance.now();
    expect(parser.feed(chunk)).toHaveLength(50_000);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
