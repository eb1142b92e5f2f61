/**
 * Reading upstream replies: one JSON message, or the JSON-RPC messages of an SSE stream as they
 * arrive (never buffered whole).
 */
import type { Readable } from 'node:stream';
import { UpstreamError } from './errors.js';
import { SseEventTooLarge, SseParser } from './sse-parser.js';

/** Largest upstream JSON body or SSE event the gateway parses (results can be big resources). */
export const MAX_UPSTREAM_MESSAGE_BYTES = 32 * 1024 * 1024;

/**
 * A whole streamed body, bounded by MAX_UPSTREAM_MESSAGE_BYTES. Stream events rather than an async
 * iterator: one promise per body instead of per chunk.
 */
export function readBytes(body: Readable, target: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error?: Error) => {
      body.off('data', onData).off('end', onEnd).off('error', settle).off('close', onClose);
      if (error) reject(error);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size <= MAX_UPSTREAM_MESSAGE_BYTES) return;
      const limit = MAX_UPSTREAM_MESSAGE_BYTES;
      settle(new UpstreamError(target, 'protocol', `target "${target}" sent a message over ${limit} bytes`));
      body.once('error', () => {}); // the abort that destroy() reports: already answered
      body.destroy();
    };
    const onEnd = () => settle();
    const onClose = () => settle(new Error('the reply ended before its body was complete'));
    body.on('data', onData).on('end', onEnd).on('error', settle).on('close', onClose);
  });
}

/** The JSON message of a whole reply body. */
export function parseJson(body: Buffer, target: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new UpstreamError(target, 'protocol', `target "${target}" sent malformed JSON`);
  }
}

/** Yield each `message` event's JSON as it completes. Destroys the body when the consumer stops. */
export async function* sseMessages(body: Readable, target: string): AsyncGenerator<unknown> {
  const parser = new SseParser(MAX_UPSTREAM_MESSAGE_BYTES);
  const decoder = new TextDecoder();
  try {
    for await (const chunk of body) {
      let events: ReturnType<SseParser['feed']>;
      try {
        events = parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
      } catch (error) {
        if (error instanceof SseEventTooLarge)
          throw new UpstreamError(target, 'protocol', `target "${target}": ${error.message}`);
        throw error;
      }
      for (const event of events) {
        // SEP-1699 (2025-11-25): a priming event carries an id and empty data; it is not a message.
        if (event.event !== 'message' || event.data === '') continue;
        let message: unknown;
        try {
          message = JSON.parse(event.data);
        } catch {
          throw new UpstreamError(target, 'protocol', `target "${target}" sent a malformed SSE message`);
        }
        yield message;
      }
    }
  } finally {
    if (!body.readableEnded) body.destroy();
  }
}
