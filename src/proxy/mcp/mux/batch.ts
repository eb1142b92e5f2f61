/**
 * JSON-RPC batches, which only protocol revision 2025-03-26 allows (2025-06-18 removed them). Each
 * message is served like a single one; their answers are collected into one JSON array. Batches
 * are rare, so collecting (even a streamed answer) is fine here, unlike on the single-message path.
 */
import type { SessionContext } from '../hop/context.js';
import type { Outcome } from '../hop/outcome.js';
import { errorResponse, JsonRpcCode, rpcErrorReply } from '../wire/errors.js';
import { classify, isResponse, type JsonRpcResponse } from '../wire/jsonrpc.js';
import { allowsBatches } from '../wire/protocol-version.js';
import { accepted, jsonReply } from '../wire/reply.js';
import { dispatchRequest } from './dispatch.js';
import { dispatchNotification, dispatchResponse } from './notify.js';

export async function serveBatch(cx: SessionContext, items: unknown[]): Promise<Outcome> {
  if (!allowsBatches(cx.session.protocolVersion)) {
    const reply = rpcErrorReply(
      400,
      JsonRpcCode.InvalidRequest,
      `Invalid Request: JSON-RPC batches are not allowed in protocol ${cx.session.protocolVersion}; send one message per request`,
    );
    return { reply, rpcError: JsonRpcCode.InvalidRequest };
  }
  if (items.length === 0) {
    const reply = rpcErrorReply(400, JsonRpcCode.InvalidRequest, 'Invalid Request: empty batch');
    return { reply, rpcError: JsonRpcCode.InvalidRequest };
  }
  const answers = await Promise.all(items.map((item) => serveItem(cx, item)));
  const responses = answers.filter((answer): answer is JsonRpcResponse => answer !== undefined);
  return { reply: responses.length === 0 ? accepted() : jsonReply(responses) };
}

async function serveItem(cx: SessionContext, item: unknown): Promise<JsonRpcResponse | undefined> {
  const classified = classify(item);
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
  if (method === 'initialize') {
    return errorResponse(
      id,
      JsonRpcCode.InvalidRequest,
      'Invalid Request: initialize must not be part of a batch',
    );
  }
  return answerOf(await dispatchRequest(cx, classified.message, raw), id);
}

/** The JSON-RPC response in a single-message answer: JSON, bytes or a stream read to its end. */
async function answerOf(outcome: Outcome, id: JsonRpcResponse['id']): Promise<JsonRpcResponse> {
  const { reply } = outcome;
  let candidates: unknown[];
  if (reply.kind === 'json') candidates = [reply.body];
  else if (reply.kind === 'bytes') candidates = [Buffer.from(reply.body).toString('utf8')];
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
