/**
 * A rewritten call whose target answers in SSE: when the stream's first message is the call's
 * response (what an SDK server sends for a call that neither notifies nor asks the client
 * anything), the client gets it as one JSON answer, spliced as bytes where the rewrite can
 * (a 2026-07-28 client) or rewritten once. That skips the gateway's own SSE stream (a web stream,
 * framing, a keep-alive timer) for the common call. Anything else first (a progress notification,
 * a request to the client), or nothing within one keep-alive interval, and the call is relayed as
 * SSE from that message on, as before. Both answers are the client's to accept: it sent
 * `Accept: application/json, text/event-stream`.
 */
import type { Readable } from 'node:stream';
import { settledWithin } from '../../../shared/deadline.js';
import { endedUnanswered } from '../../upstream/errors.js';
import { parseSseMessage, sseData } from '../../upstream/read.js';
import type { Rewrite } from '../rewrite/outbound.js';
import { isResponse, type JsonRpcId } from '../wire/jsonrpc.js';
import { jsonReply, type Reply } from '../wire/reply.js';

/**
 * How long a target may keep its stream open after the response before it is cut: the stream's
 * end normally arrives with the response, and reading it keeps the upstream connection for reuse.
 */
export const ANSWERED_STREAM_GRACE_MS = 1000;

export type SseAnswer =
  /** The response, as the client's whole answer. */
  | { readonly kind: 'answer'; readonly reply: Reply }
  /** Relay as SSE: `messages` starts with what was read; `late` when nothing came in time. */
  | { readonly kind: 'stream'; readonly messages: AsyncGenerator<unknown>; readonly late: boolean };

/**
 * Read the upstream stream's first message (for at most `waitMs`). Throws what reading throws
 * (the stream broke off, a malformed event), or endedUnanswered when it ends with no message.
 */
export async function sseAnswer(
  upstream: Readable,
  target: string,
  id: JsonRpcId,
  rewrite: Rewrite,
  waitMs: number,
): Promise<SseAnswer> {
  const data = sseData(upstream, target);
  const first = data.next();
  if (!(await settledWithin(first, waitMs))) {
    return { kind: 'stream', messages: parsedFrom(first, data, target), late: true };
  }
  const step = await first;
  if (step.done) throw endedUnanswered(target);
  const spliced = rewrite.bytes?.(Buffer.from(step.value));
  if (spliced) {
    readToEnd(data, upstream);
    return { kind: 'answer', reply: { kind: 'bytes', status: 200, body: spliced } };
  }
  let message: unknown;
  try {
    message = parseSseMessage(step.value, target);
  } catch (error) {
    void data.return(undefined); // ends the upstream stream, as a failed sseMessages does
    throw error;
  }
  if (isResponse(message) && message.id === id) {
    readToEnd(data, upstream);
    return { kind: 'answer', reply: jsonReply(rewrite(message)) };
  }
  return { kind: 'stream', messages: parsedFrom(Promise.resolve(step), data, target), late: false };
}

/** The stream's messages, parsed, from its first step (already asked for) on. */
async function* parsedFrom(
  first: Promise<IteratorResult<string>>,
  data: AsyncGenerator<string>,
  target: string,
): AsyncGenerator<unknown> {
  try {
    const step = await first;
    if (step.done) return;
    yield parseSseMessage(step.value, target);
    for (;;) {
      const next = await data.next();
      if (next.done) return;
      yield parseSseMessage(next.value, target);
    }
  } finally {
    // A reader that stops early ends the upstream stream too (as sseMessages does).
    void data.return(undefined);
  }
}

/** Read what follows the response (normally only the stream's end), for ANSWERED_STREAM_GRACE_MS at most. */
function readToEnd(data: AsyncGenerator<string>, upstream: Readable): void {
  const timer = setTimeout(() => upstream.destroy(), ANSWERED_STREAM_GRACE_MS);
  const done = () => clearTimeout(timer);
  const next = (): void => {
    data.next().then((step) => (step.done ? done() : next()), done);
  };
  next();
}
