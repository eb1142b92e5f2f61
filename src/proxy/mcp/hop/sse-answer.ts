/**
 * A call whose target answers in SSE: when the stream's first message is the call's response (what
 * an SDK server sends for a call that neither notifies nor asks the client anything), the client
 * gets it as one JSON answer. On the transparent path that is the event's bytes as they came; on
 * a rewriting path (a 2026-07-28 client, a multiplexed route) the response spliced as bytes where
 * the rewrite can, or rewritten once. That skips a downstream SSE stream (a web stream, framing, a
 * keep-alive timer) for the common call. Anything else first (a progress notification, a request
 * to the client), nothing within one keep-alive interval, or more than STREAM_JSON_BYTES before the
 * first message, and the chunks read go back into the body, which streams from its first byte as
 * before. Both answers are the client's to accept: it sent `Accept: application/json,
 * text/event-stream`.
 */
import { Readable } from 'node:stream';
import { STREAM_JSON_BYTES } from '../../upstream/reply-handler.js';
import { type FirstEvent, firstSseEvent, readToEnd } from '../../upstream/sse-first-event.js';
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
  /**
   * Stream the body (put back as it was); `late` when nothing came within the wait. `ended`: the
   * body ended with no message, and these are its bytes.
   */
  | { readonly kind: 'stream'; readonly late: boolean; readonly ended?: Readable };

/**
 * The transparent path: the first event's bytes as the answer when they are the response to `id`.
 * A stream that opens with a priming event (SEP-1699: its target keeps events for the client to
 * resume from) passes through at once, as it came. Throws what reading throws (the stream broke off).
 */
export async function passedSseAnswer(
  upstream: Readable,
  target: string,
  id: JsonRpcId,
  waitMs: number,
): Promise<SseAnswer> {
  const first = await firstSseEvent(
    upstream,
    target,
    waitMs,
    STREAM_JSON_BYTES,
    (data): Reply | undefined =>
      answersCall(data, id) ? { kind: 'bytes', status: 200, body: Buffer.from(data) } : undefined,
    true,
  );
  return settled(first, upstream);
}

/**
 * A rewriting path: the first event rewritten as the answer when it is the response to `id`.
 * Throws what reading throws. A stream that ended with no message comes back as `ended`: the
 * caller resumes it (hop/stream-resume.ts) or reports it.
 */
export async function rewrittenSseAnswer(
  upstream: Readable,
  target: string,
  id: JsonRpcId,
  rewrite: Rewrite,
  waitMs: number,
): Promise<SseAnswer> {
  const first = await firstSseEvent(
    upstream,
    target,
    waitMs,
    STREAM_JSON_BYTES,
    (data): Reply | undefined => {
      const spliced = rewrite.bytes?.(Buffer.from(data));
      if (spliced) return { kind: 'bytes', status: 200, body: spliced };
      const message = responseTo(data, id);
      return message === undefined ? undefined : jsonReply(rewrite(message));
    },
  );
  return settled(first, upstream);
}

function settled(first: FirstEvent<Reply>, upstream: Readable): SseAnswer {
  // A stream closed before its answer (SEP-1699) goes on as it came: the caller may resume it.
  if ('ended' in first) return { kind: 'stream', late: false, ended: Readable.from(first.ended) };
  if ('late' in first) return { kind: 'stream', late: first.late };
  readToEnd(upstream, ANSWERED_STREAM_GRACE_MS);
  return { kind: 'answer', reply: first.answer };
}

/**
 * Whether an event's data is the response to `id`: by its layout where it is one JSON-RPC servers
 * write (`{"result"|"error":…,"id":<id>}` or `{"jsonrpc":"2.0","id":<id>,"result"|"error":…}`),
 * else parsed. At the very end of valid JSON, `,"id":<id>}` can only be the top-level object's
 * last member: nothing can follow the member before the object closes.
 */
export function answersCall(data: string, id: JsonRpcId): boolean {
  const text = JSON.stringify(id);
  if (data.startsWith('{"result":') || data.startsWith('{"error":')) {
    if (data.trimEnd().endsWith(`,"id":${text}}`)) return true;
  } else {
    const head = `{"jsonrpc":"2.0","id":${text},`;
    if (data.startsWith(`${head}"result":`) || data.startsWith(`${head}"error":`)) return true;
  }
  return responseTo(data, id) !== undefined;
}

/** The event's message when it is the response to `id` (a malformed one is the stream's to report). */
function responseTo(data: string, id: JsonRpcId): unknown {
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return undefined;
  }
  return isResponse(message) && message.id === id ? message : undefined;
}
