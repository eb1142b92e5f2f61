/** The upstream SSE parser and reading JSON-RPC messages off an upstream SSE body. */
import { describe, expect, it } from 'vitest';
import { SseEventTooLarge, SseParser } from '../../../src/proxy/upstream/sse-parser.js';

describe('SseParser', () => {
  it('parses events split across chunks and line-ending styles', () => {
    const parser = new SseParser(1000);
    expect(parser.feed('event: message\nid: 1\nda')).toEqual([]);
    expect(parser.feed('ta: {"a":1}\n\n: comment\r\ndata: x\r\ndata: y\r')).toEqual([
      { event: 'message', data: '{"a":1}', id: '1' },
    ]);
    expect(parser.feed('\n\r\n')).toEqual([{ event: 'message', data: 'x\ny', id: '1' }]);
  });

  it('bounds one event', () => {
    const parser = new SseParser(10);
    expect(() => parser.feed(`data: ${'x'.repeat(20)}`)).toThrow(SseEventTooLarge);
  });
});

describe('upstream SSE reading', () => {
  it('skips SEP-1699 priming events (an id, empty data) and yields the messages after them', async () => {
    const { Readable } = await import('node:stream');
    const { sseMessages } = await import('../../../src/proxy/upstream/read.js');
    const body = Readable.from([
      Buffer.from('id: 0\ndata: \n\n'),
      Buffer.from('event: message\nid: 1\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n'),
    ]);
    const messages: unknown[] = [];
    for await (const message of sseMessages(body, 'everything')) messages.push(message);
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 1, result: {} }]);
  });

  it('still rejects an event whose data is not JSON, naming the target', async () => {
    const { Readable } = await import('node:stream');
    const { sseMessages } = await import('../../../src/proxy/upstream/read.js');
    const body = Readable.from([Buffer.from('data: {not json\n\n')]);
    await expect(async () => {
      for await (const _ of sseMessages(body, 'everything')) void _;
    }).rejects.toThrow('target "everything" sent a malformed SSE message');
  });
});
