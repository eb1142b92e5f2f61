/**
 * JSON-RPC batches, which only protocol revision 2025-03-26 allows (2025-06-18 removed them). Each
 * message is served like a single one; their answers are collected into one JSON array. Batches
 * are rare, so collecting (even a streamed answer) is fine here, unlike on the single-message path.
 */
import { JsonRpcCode } from '../../shared/errors.js';
import type { SessionExchange } from './context.js';
import { dispatchRequest } from './dispatch.js';
import { accepted, jsonResponse, rpcErrorResponse } from './http.js';
import { classify, errorResponse, isResponse, type JsonRpcResponse } from './jsonrpc.js';
import { dispatchNotification, dispatchResponse } from './notify.js';
import { allowsBatches } from './protocol-version.js';

export async function serveBatch(ex: SessionExchange, items: unknown[]): Promise<Response> {
  if (!allowsBatches(ex.session.protocolVersion)) {
    return rpcErrorResponse(
      400,
      JsonRpcCode.InvalidRequest,
      `Invalid Request: JSON-RPC batches are not allowed in protocol ${ex.session.protocolVersion}; send one message per request`,
    );
  }
  if (items.length === 0)
    return rpcErrorResponse(400, JsonRpcCode.InvalidRequest, 'Invalid Request: empty batch');
  ex.method = 'batch';
  const answers = await Promise.all(items.map((item) => serveItem(ex, item)));
  // Streamed answers were read to the end above: the exchange finishes when handle() returns.
  ex.streamed = false;
  const responses = answers.filter((answer): answer is JsonRpcResponse => answer !== undefined);
  return responses.length === 0 ? accepted() : jsonResponse(responses);
}

async function serveItem(ex: SessionExchange, item: unknown): Promise<JsonRpcResponse | undefined> {
  const classified = classify(item);
  if (typeof classified === 'string') {
    return errorResponse(null, JsonRpcCode.InvalidRequest, `Invalid Request: ${classified}`);
  }
  const raw = JSON.stringify(item);
  if (classified.kind === 'notification') {
    await dispatchNotification(ex, classified.message, raw);
    return undefined;
  }
  if (classified.kind === 'response') {
    await dispatchResponse(ex, classified.message, raw);
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
  return answerOf(await dispatchRequest(ex, classified.message, raw), id);
}

/** The JSON-RPC response in a single-message answer, JSON or SSE. */
async function answerOf(response: Response, id: JsonRpcResponse['id']): Promise<JsonRpcResponse> {
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const candidates = type.startsWith('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
    : [text];
  for (const candidate of candidates.reverse()) {
    try {
      const message: unknown = JSON.parse(candidate);
      if (isResponse(message) && message.id === id) return message;
    } catch {
      // Not JSON: keep looking.
    }
  }
  return errorResponse(id, JsonRpcCode.InternalError, 'No response was produced for this batch entry');
}
