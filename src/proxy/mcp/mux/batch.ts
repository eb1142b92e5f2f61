/**
 * JSON-RPC batches, which only protocol revision 2025-03-26 allows (2025-06-18 removed them). Each
 * message is served like a single one; their answers are collected into one JSON array. Batches
 * are rare, so collecting (even a streamed answer) is fine here, unlike on the single-message path.
 *
 * A batch is checked whole before any of it runs, and refused whole: longer than --max-batch-size,
 * a request id twice (answers are matched by id), an id already in flight in the session or beyond
 * ±(2^53−1), or more requests than --max-session-inflight leaves room for. Then its messages run
 * BATCH_CONCURRENCY at a time, each request holding its id (and its place in the session's
 * in-flight count) until its answer is in.
 */
import type { SessionContext } from '../hop/context.js';
import { limited, type Outcome } from '../hop/outcome.js';
import { errorResponse, JsonRpcCode, limitReply, rpcErrorReply } from '../wire/errors.js';
import {
  type Classified,
  classify,
  ID_RULE,
  isResponse,
  type JsonRpcId,
  type JsonRpcResponse,
} from '../wire/jsonrpc.js';
import { sessionInflightLimit } from '../wire/limits.js';
import { allowsBatches } from '../wire/protocol-version.js';
import { accepted, jsonReply, wholeBytes } from '../wire/reply.js';
import { dispatchRequest } from './dispatch.js';
import { dispatchNotification, dispatchResponse } from './notify.js';

/**
 * Messages of one batch served at once. Small: a batch must not take a target's connections or
 * the event loop from other sessions, and its answer waits for the slowest message anyway.
 */
export const BATCH_CONCURRENCY = 4;

const invalid = (message: string): Outcome => ({
  reply: rpcErrorReply(400, JsonRpcCode.InvalidRequest, `Invalid Request: ${message}`),
  rpcError: JsonRpcCode.InvalidRequest,
});

const quoted = (id: JsonRpcId) => JSON.stringify(id).slice(0, 100);

export async function serveBatch(cx: SessionContext, items: unknown[]): Promise<Outcome> {
  const { session, deps } = cx;
  if (!allowsBatches(session.protocolVersion)) {
    return invalid(
      `JSON-RPC batches are not allowed in protocol ${session.protocolVersion}; send one message per request`,
    );
  }
  if (items.length === 0) return invalid('empty batch');
  const { maxBatchSize, maxSessionInflight } = deps.limits;
  if (items.length > maxBatchSize) {
    deps.metrics.limitRejected('batch_size');
    const message = `Batch too long: ${items.length} messages, at most ${maxBatchSize} (--max-batch-size); send it in parts`;
    return { reply: limitReply(400, message), rpcError: JsonRpcCode.LimitExceeded };
  }
  const classified = items.map(classify);
  const ids = new Set<JsonRpcId>();
  for (const [index, item] of classified.entries()) {
    if (item === ID_RULE) return invalid(`batch message ${index}: ${ID_RULE}`);
    if (typeof item === 'string' || item.kind !== 'request') continue;
    const { id } = item.message;
    if (ids.has(id)) {
      deps.metrics.limitRejected('batch_duplicate_id');
      return invalid(
        `request id ${quoted(id)} appears more than once in this batch; answers are matched by id, so give each request its own`,
      );
    }
    if (session.requestIds.has(id)) {
      return invalid(`request id ${quoted(id)} is already in flight in this session; use a new id`);
    }
    ids.add(id);
  }
  if (session.requestIds.size + ids.size > maxSessionInflight) {
    deps.metrics.limitRejected('session_inflight');
    return limited(sessionInflightLimit(maxSessionInflight, ids.size), null);
  }
  for (const id of ids) session.requestIds.add(id);
  const answers: Array<JsonRpcResponse | undefined> = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < classified.length) {
      const index = next++;
      answers[index] = await serveItem(cx, classified[index]!, items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, items.length) }, worker));
  const responses = answers.filter((answer): answer is JsonRpcResponse => answer !== undefined);
  return { reply: responses.length === 0 ? accepted() : jsonReply(responses) };
}

async function serveItem(
  cx: SessionContext,
  classified: Classified | string,
  item: unknown,
): Promise<JsonRpcResponse | undefined> {
  if (typeof classified === 'string') {
    return errorResponse(null, JsonRpcCode.InvalidRequest, `Invalid Request: ${classified}`);
  }
  const raw = JSON.stringify(item);
  if (classified.kind === 'notification') {
    await dispatchNotification(cx, classified.message, raw);
    return undefined;
  }
  if (classified.kind === 'response') {
    await dispatchResponse(cx, classified.message, raw);
    return undefined;
  }
  const { id, method } = classified.message;
  try {
    if (method === 'initialize') {
      return errorResponse(
        id,
        JsonRpcCode.InvalidRequest,
        'Invalid Request: initialize must not be part of a batch',
      );
    }
    return await answerOf(await dispatchRequest(cx, classified.message, raw), id);
  } finally {
    cx.session.requestIds.delete(id);
  }
}

/** The JSON-RPC response in a single-message answer: JSON, bytes or a stream read to its end. */
async function answerOf(outcome: Outcome, id: JsonRpcResponse['id']): Promise<JsonRpcResponse> {
  const { reply } = outcome;
  let candidates: unknown[];
  if (reply.kind === 'json') candidates = [reply.body];
  else if (reply.kind === 'bytes') candidates = [Buffer.from(wholeBytes(reply.body)).toString('utf8')];
  else if (reply.kind === 'stream') {
    const text = await new Response(reply.body).text();
    candidates =
      reply.type === 'sse'
        ? text
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
        : [text];
  } else candidates = [];
  for (const candidate of candidates.reverse()) {
    try {
      const message: unknown = typeof candidate === 'string' ? JSON.parse(candidate) : candidate;
      if (isResponse(message) && message.id === id) return message;
    } catch {
      // Not JSON: keep looking.
    }
  }
  return errorResponse(id, JsonRpcCode.InternalError, 'No response was produced for this batch entry');
}
