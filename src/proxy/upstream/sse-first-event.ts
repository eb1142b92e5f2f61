/**
 * Read an upstream SSE body up to its first `message` event, keeping the chunks read, so that the
 * caller either answers from that event alone or gets the body back to stream from its first byte
 * as if nothing had been read.
 */
import type { Readable } from 'node:stream';
import { UpstreamError } from './errors.js';
import { SseParser } from './sse-parser.js';

/**
 * What became of the wait: the caller's answer; the body put back to stream (`late`: nothing came
 * in time); or the chunks of a body that ended without a message (a SEP-1699 stream closed before
 * its answer, which the client fetches by resuming).
 */
export type FirstEvent<T> =
  | { readonly answer: T }
  | { readonly late: boolean }
  | { readonly ended: readonly Buffer[] };

/**
 * Wait up to `waitMs` for the first `message` event and hand its data (its JSON text) to
 * `answer`, which returns the answer it makes of it or undefined. Without an answer (another
 * message first, nothing in time, or more than `maxBytes` held meanwhile) every chunk read goes
 * back into the body, which is left paused to read from its first byte again. Chunks go back in
 * the same turn they were read in: a body whose end has already arrived does not end meanwhile.
 * Rejects when the body fails or closes.
 */
export function firstSseEvent<T>(
  body: Readable,
  target: string,
  waitMs: number,
  maxBytes: number,
  answer: (data: string) => T | undefined,
  /** A priming event (SEP-1699: an id, empty data) first means stream at once: the client may resume. */
  primedStreams = false,
): Promise<FirstEvent<T>> {
  return new Promise((resolve, reject) => {
    const parser = new SseParser(maxBytes);
    const decoder = new TextDecoder();
    const chunks: Buffer[] = [];
    let held = 0;
    const settle = () => {
      clearTimeout(timer);
      body.pause();
      body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const putBack = (late: boolean) => {
      settle();
      for (let i = chunks.length - 1; i >= 0; i--) body.unshift(chunks[i]);
      resolve({ late });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      held += chunk.length;
      let events: ReturnType<SseParser['feed']> = [];
      try {
        if (held <= maxBytes) events = parser.feed(decoder.decode(chunk, { stream: true }));
      } catch {
        held = Number.POSITIVE_INFINITY; // an event over the bound: the stream's own reader says so
      }
      for (const event of events) {
        // SEP-1699 (2025-11-25): a priming event carries an id and empty data; it is not a message.
        if (primedStreams && event.data === '' && event.id !== undefined) return putBack(false);
        if (event.event !== 'message' || event.data === '') continue;
        let made: T | undefined;
        try {
          made = answer(event.data);
        } catch {
          made = undefined; // never thrown into the body's emitter: the stream's reader decides
        }
        if (made === undefined) return putBack(false);
        settle();
        return resolve({ answer: made });
      }
      if (held > maxBytes) putBack(false);
    };
    const onEnd = () => {
      settle();
      resolve({ ended: chunks });
    };
    const onError = (error: Error) => {
      settle();
      reject(error);
    };
    const onClose = () => {
      settle();
      reject(
        new UpstreamError(target, 'protocol', `target "${target}" closed its stream without a response`),
      );
    };
    const timer = setTimeout(() => putBack(true), waitMs);
    body.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/**
 * After the answer: read what is left of the body (normally only its end, which keeps the
 * connection reusable) and drop it; a body still open after `graceMs` is cut.
 */
export function readToEnd(body: Readable, graceMs: number): void {
  if (body.readableEnded || body.destroyed) return;
  const timer = setTimeout(() => body.destroy(), graceMs);
  const done = () => clearTimeout(timer);
  body
    .on('data', () => {})
    .once('end', done)
    .once('close', done)
    .on('error', () => {});
  body.resume();
}
