/** A rewritten call's SSE answer: the response alone becomes one JSON answer; anything else streams. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ANSWERED_STREAM_GRACE_MS, sseAnswer } from '../../../../src/proxy/mcp/hop/sse-answer.js';
import type { Rewrite } from '../../../../src/proxy/mcp/rewrite/outbound.js';
import { spliceAnswer } from '../../../../src/proxy/mcp/wire/answer-splice.js';
import { wholeBytes } from '../../../../src/proxy/mcp/wire/reply.js';

const event = (message: unknown, id?: string) =>
  `${id === undefined ? '' : `id: ${id}\n`}event: message\ndata: ${JSON.stringify(message)}\n\n`;
const response = (id: string, result: unknown = { content: [] }) => ({ result, jsonrpc: '2.0', id });

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

async function drain(messages: AsyncGenerator<unknown>): Promise<unknown[]> {
  const all: unknown[] = [];
  for await (const m of messages) all.push(m);
  return all;
}

describe('sseAnswer', () => {
  it('answers with the response alone as JSON, rewritten, and reads the stream to its end', async () => {
    const { stream, send, end } = body();
    send(`id: 0\ndata: \n\n${event(response('mcplane-1'), '1')}`);
    end();
    const answer = await sseAnswer(stream, 't', 'mcplane-1', marked, 1000);
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
    const answer = await sseAnswer(stream, 't', 'mcplane-1', spliced, 1000);
    if (answer.kind !== 'answer' || answer.reply.kind !== 'bytes') throw new Error('expected bytes');
    expect(JSON.parse(Buffer.from(wholeBytes(answer.reply.body)).toString('utf8'))).toEqual({
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
    const answer = await sseAnswer(stream, 't', 'mcplane-1', spliced, 1000);
    expect(answer).toEqual({
      kind: 'answer',
      reply: { kind: 'json', status: 200, body: { ...error, rewritten: true } },
    });
  });

  it('streams from the first message when it is not the response (progress, a request to the client)', async () => {
    const { stream, send, end } = body();
    const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } };
    const elicit = { jsonrpc: '2.0', id: 3, method: 'elicitation/create', params: {} };
    send(event(progress) + event(elicit));
    send(event(response('mcplane-1')));
    end();
    const answer = await sseAnswer(stream, 't', 'mcplane-1', spliced, 1000);
    if (answer.kind !== 'stream') throw new Error('expected a stream');
    expect(answer.late).toBe(false);
    expect(await drain(answer.messages)).toEqual([progress, elicit, response('mcplane-1')]);
  });

  it('streams (late) when nothing comes within the wait, the first message when it comes', async () => {
    const { stream, send, end } = body();
    const answer = await sseAnswer(stream, 't', 'mcplane-1', spliced, 20);
    if (answer.kind !== 'stream') throw new Error('expected a stream');
    expect(answer.late).toBe(true);
    send(event(response('mcplane-1')));
    end();
    expect(await drain(answer.messages)).toEqual([response('mcplane-1')]);
  });

  it('a response to another id is not the answer', async () => {
    const { stream, send, end } = body();
    send(event(response('mcplane-9')));
    end();
    const answer = await sseAnswer(stream, 't', 'mcplane-1', marked, 1000);
    expect(answer.kind).toBe('stream');
  });

  it('throws when the stream ends without a message, or sends one that is not JSON', async () => {
    const empty = body();
    empty.send(': keep-alive\n\n');
    empty.end();
    await expect(sseAnswer(empty.stream, 't', 'mcplane-1', marked, 1000)).rejects.toThrow(
      'target "t" ended its stream without a response',
    );
    const bad = body();
    bad.send('data: {not json\n\n');
    await expect(sseAnswer(bad.stream, 't', 'mcplane-1', marked, 1000)).rejects.toThrow(
      'target "t" sent a malformed SSE message',
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(bad.stream.destroyed).toBe(true);
  });

  it('cuts a target that keeps its stream open after the response, once the grace has passed', async () => {
    const { stream, send } = body();
    send(event(response('mcplane-1')));
    const answer = await sseAnswer(stream, 't', 'mcplane-1', marked, 1000);
    expect(answer.kind).toBe('answer');
    send(event({ jsonrpc: '2.0', method: 'notifications/message', params: {} })); // read and dropped
    await new Promise((resolve) => setTimeout(resolve, ANSWERED_STREAM_GRACE_MS / 2));
    expect(stream.destroyed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, ANSWERED_STREAM_GRACE_MS / 2 + 100));
    expect(stream.destroyed).toBe(true);
  });
});
