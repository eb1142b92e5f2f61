/**
 * Reading upstream replies: one JSON message, or the JSON-RPC messages of an SSE stream as they
 * arrive (never buffered whole).
 */
import type { Readable } from 'node:stream';
import { UpstreamError } from './errors.js';
import { SseEventTooLarge, SseParser } from './sse-parser.js';

/** Largest upstream JSON body or SSE event the gateway parses (results can be big resources). */
export const MAX_UPSTREAM_MESSAGE_BYTES = 32 * 1024 * 1024;

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
