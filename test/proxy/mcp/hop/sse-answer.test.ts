/** A call's SSE answer: the response alone becomes one JSON answer; anything else streams unchanged. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ANSWERED_STREAM_GRACE_MS,
  passedSseAnswer,
  rewrittenSseAnswer,
} from '../../../../src/proxy/mcp/hop/sse-answer.js';
import type { Rewrite } from '../../../../src/proxy/mcp/rewrite/outbound.js';
import { spliceAnswer } from '../../../../src/proxy/mcp/wire/answer-splice.js';
import { wholeBytes } from '../../../../src/proxy/mcp/wire/reply.js';
import { sseMessages } from '../../../../src/proxy/upstream/read.js';
import { STREAM_JSON_BYTES } from '../../../../src/proxy/upstream/reply-handler.js';

const event = (message: unknown, id?: string) => sseEvent(JSON.stringify(message), id);
const sseEvent = (data: string, id?: string) =>
  `${id === undefined ? '' : `id: ${id}\n`}event: message\ndata: ${data}\n\n`;
const response = (id: string | number, result: unknown = { content: [] }) => ({ result, jsonrpc: '2.0', id });
const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } };

/** An upstream body the test writes into, as the reply handler's Readable is. */
function body() {
  const stream = new Readable({ read() {} });
  return { stream, send: (text: string) => stream.push(Buffer.from(text)), end: () => stream.push(null) };
}

/** The 2025 multiplexed rewrite's shape: it marks what it rewrote. */
const marked: Rewrite = (m) => ({ ...(m as object), rewritten: true });
/** The 2026-07-28 rewrite: answers spliced as bytes where they can be. */
const spliced: Rewrite = Object.assign((m: unknown) => marked(m), {
  bytes: (b: Uint8Array) => spliceAnswer(b, 'mcplane-1', 7, false),
});

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const text = (reply: { kind: string; body?: unknown }) => {
  if (reply.kind !== 'bytes') throw new Error(`expected bytes, got ${reply.kind}`);
  return Buffer.from(wholeBytes(reply.body as Uint8Array)).toString('utf8');
};

describe('rewrittenSseAnswer', () => {
  it('answers with the response alone as JSON, rewritten, and reads the stream to its end', async () => {
    const { stream, send, end } = body();
    send(`id: 0\ndata: \n\n${event(response('mcplane-1'), '1')}`);
    end();
    const answer = await rewrittenSseAnswer(stream, 't', 'mcplane-1', marked, 1000);
    expect(answer).toEqual({
      kind: 'answer',
      reply: { kind: 'json', status: 200, body: { ...response('mcplane-1'), rewritten: true } },
    });
    await new Promise((resolve) => setImmediate(resolve));
    // Read to its end (then auto-destroyed), not cut off: the upstream connection is kept.
    expect(stream.readableEnded).toBe(true);
    expect(stream.errored).toBeNull();
  });

  it('splices the response as bytes when the rewrite can', async () => {
    const { stream, send, end } = body();
    send(event(response('mcplane-1', { content: [{ type: 'text', text: 'é "x"' }] })));
    end();
    const answer = await rewrittenSseAnswer(stream, 't', 'mcplane-1', spliced, 1000);
    if (answer.kind !== 'answer') throw new Error('expected the answer');
    expect(JSON.parse(text(answer.reply))).toEqual({
      result: { resultType: 'complete', content: [{ type: 'text', text: 'é "x"' }] },
      jsonrpc: '2.0',
      id: 7,
    });
  });

  it('parses a response the splice leaves alone (an error) and rewrites it', async () => {
    const { stream, send, end } = body();
    const error = { jsonrpc: '2.0', id: 'mcplane-1', error: { code: -32602, message: 'no such tool' } };
    send(event(error));
    end();
    const answer = await rewrittenSseAnswer(stream, 't', 'mcplane-1', spliced, 1000);
    expect(answer).toEqual({
      kind: 'answer',
      reply: { kind: 'json', status: 200, body: { ...error, rewritten: true } },
    });
  });

  it('puts everything back when the first message is not the response (progress, a request to the client)', async () => {
    const { stream, send, end } = body();
    const elicit = { jsonrpc: '2.0', id: 3, method: 'elicitation/create', params: {} };
    send(event(progress) + event(elicit));
    send(event(response('mcplane-1')));
    end();
    const answer = await rewrittenSseAnswer(stream, 't', 'mcplane-1', spliced, 1000);
    expect(answer).toEqual({ kind: 'stream', late: false });
    expect(await all(sseMessages(stream, 't'))).toEqual([progress, elicit, response('mcplane-1')]);
  });

  it('streams (late) when nothing comes within the wait', async () => {
    const { stream, send, end } = body();
    send(': keep-alive\n\n');
    const answer = await rewrittenSseAnswer(stream, 't', 'mcplane-1', spliced, 20);
    expect(answer).toEqual({ kind: 'stream', late: true });
    send(event(response('mcplane-1')));
    end();
    expect(await all(sseMessages(stream, 't'))).toEqual([response('mcplane-1')]);
  });

  it('a response to another id, or a malformed event, is left to the stream', async () => {
    const other = body();
    other.send(event(response('mcplane-9')));
    other.end();
    expect(await rewrittenSseAnswer(other.stream, 't', 'mcplane-1', marked, 1000)).toEqual({
      kind: 'stream',
      late: false,
    });
    const bad = body();
    bad.send('data: {not json\n\n');
    bad.end();
    expect((await rewrittenSseAnswer(bad.stream, 't', 'mcplane-1', marked, 1000)).kind).toBe('stream');
    await expect(all(sseMessages(bad.stream, 't'))).rejects.toThrow(
      'target "t" sent a malformed SSE message',
    );
  });

  it('gives back a stream that ended without a message (the caller resumes it or reports it)', async () => {
    const empty = body();
    empty.send(': keep-alive\n\n');
    empty.end();
    const answer = await rewrittenSseAnswer(empty.stream, 't', 'mcplane-1', marked, 1000);
    if (answer.kind !== 'stream' || !answer.ended) throw new Error('expected the ended stream');
    expect(Buffer.concat(await all<Buffer>(answer.ended)).toString('utf8')).toBe(': keep-alive\n\n');
  });

  it('cuts a target that keeps its stream open after the response, once the grace has passed', async () => {
    const { stream, send } = body();
    send(event(response('mcplane-1')));
    const answer = await rewrittenSseAnswer(stream, 't', 'mcplane-1', marked, 1000);
    expect(answer.kind).toBe('answer');
    send(event({ jsonrpc: '2.0', method: 'notifications/message', params: {} })); // read and dropped
    await new Promise((resolve) => setTimeout(resolve, ANSWERED_STREAM_GRACE_MS / 2));
    expect(stream.destroyed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, ANSWERED_STREAM_GRACE_MS / 2 + 100));
    expect(stream.destroyed).toBe(true);
  });
});

describe('passedSseAnswer (the transparent path)', () => {
  it.each([
    [
      'the SDK layout',
      '{"result":{"content":[{"type":"text","text":"\\u00e9 \\"x\\""}]},"jsonrpc":"2.0","id":1}',
    ],
    ['the jsonrpc-first layout', '{"jsonrpc":"2.0","id":1,"result":{"content":[]}}'],
    ['an error', '{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no"}}'],
    ['another key order (parsed)', '{"id":1, "jsonrpc":"2.0", "result":{}}'],
  ])('answers with the event data exactly as sent: %s', async (_, data) => {
    const { stream, send, end } = body();
    send(`: hello\n\n${sseEvent(data, '1')}`);
    end();
    const answer = await passedSseAnswer(stream, 't', 1, 1000);
    if (answer.kind !== 'answer') throw new Error('expected the answer');
    expect(text(answer.reply)).toBe(data);
  });

  it.each([
    ['a notification', JSON.stringify(progress)],
    ['a request to the client with the same id', '{"method":"roots/list","jsonrpc":"2.0","id":1}'],
    ['a notification whose params end like the id', '{"method":"x","params":{"a":{},"id":1}}'],
    ['a response to another id', '{"result":{},"jsonrpc":"2.0","id":11}'],
    ['a string id that only looks the same', '{"result":{},"jsonrpc":"2.0","id":"1"}'],
    ['not JSON', '{"result":'],
  ])('leaves the stream byte for byte as it came: %s first', async (_, data) => {
    const { stream, send, end } = body();
    const sent = [`: hello\r\n\r\n${sseEvent(data, '7')}`, event(response(1))];
    for (const chunk of sent) send(chunk);
    end();
    expect(await passedSseAnswer(stream, 't', 1, 1000)).toEqual({ kind: 'stream', late: false });
    const chunks = await all<Buffer>(stream);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(sent.join(''));
  });

  it('streams at once, as it came, when the stream opens with a priming event (its target keeps events to resume from)', async () => {
    const { stream, send, end } = body();
    const sent = `id: ev-0\nretry: 100\ndata: \n\n${event(response(1), 'ev-1')}`;
    send(sent);
    end();
    expect(await passedSseAnswer(stream, 't', 1, 1000)).toEqual({ kind: 'stream', late: false });
    expect(Buffer.concat(await all<Buffer>(stream)).toString('utf8')).toBe(sent);
  });

  it('passes on a stream that ends with no message, as it came (the client decides)', async () => {
    const { stream, send, end } = body();
    const sent = 'retry: 100\n\n: closing\n\n';
    send(sent);
    end();
    const answer = await passedSseAnswer(stream, 't', 1, 1000);
    if (answer.kind !== 'stream' || !answer.ended) throw new Error('expected the ended stream');
    expect(Buffer.concat(await all<Buffer>(answer.ended)).toString('utf8')).toBe(sent);
  });

  it('puts back a whole stream that came in one chunk with its end (the end waits for the reader)', async () => {
    const { stream, send, end } = body();
    const sent = event(progress) + event(response(1));
    send(sent);
    end();
    expect(await passedSseAnswer(stream, 't', 1, 1000)).toEqual({ kind: 'stream', late: false });
    expect(Buffer.concat(await all<Buffer>(stream)).toString('utf8')).toBe(sent);
  });

  it(`streams a first event over ${STREAM_JSON_BYTES} bytes, unchanged`, async () => {
    const { stream, send, end } = body();
    const big = event(response(1, { text: 'x'.repeat(STREAM_JSON_BYTES) }));
    send(big.slice(0, 1000));
    send(big.slice(1000));
    end();
    expect(await passedSseAnswer(stream, 't', 1, 1000)).toEqual({ kind: 'stream', late: false });
    expect(Buffer.concat(await all<Buffer>(stream)).toString('utf8')).toBe(big);
  });
});
