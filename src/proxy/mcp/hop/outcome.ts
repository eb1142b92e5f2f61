/**
 * How serving one request ended, as the hop and mux layers report it to the entry (service.ts),
 * which alone finishes the request: metrics, the request log, and (for a stream) waiting for its end.
 */

import type { UpstreamError } from '../../upstream/errors.js';
import { errorResponse, JsonRpcCode } from '../wire/errors.js';
import type { JsonRpcId, JsonRpcResponse } from '../wire/jsonrpc.js';
import type { LimitError, RateLimitError } from '../wire/limits.js';
import { accepted, jsonReply, type Reply } from '../wire/reply.js';

export interface Outcome {
  readonly reply: Reply;
  /** The target a routed request went to. */
  readonly target?: string;
  /** The JSON-RPC error code, when the answer is an error the gateway made. */
  readonly rpcError?: number;
}

/** A JSON-RPC response the gateway made, as a 200 JSON answer. */
export function answered(message: JsonRpcResponse, target?: string): Outcome {
  const reply = jsonReply(message);
  const code = message.error?.code;
  if (code === undefined) return target === undefined ? { reply } : { reply, target };
  return target === undefined ? { reply, rpcError: code } : { reply, target, rpcError: code };
}

/** An upstream failed a message: a request gets the JSON-RPC error naming the target, a notification 202. */
export function upstreamFailure(error: UpstreamError, id: JsonRpcId | undefined, target?: string): Outcome {
  if (id === undefined) return { reply: accepted(), ...(target === undefined ? {} : { target }) };
  const { refusal, status } = error;
  if (refusal && status !== undefined) {
    // The target's own refusal (a bad header, an unsupported version…), with its status — but
    // never 404, which a 2025 client reads as "your session expired".
    const body = errorResponse(id, refusal.code, refusal.message, refusal.data);
    const reply = jsonReply(body, status === 404 ? 200 : status);
    return { reply, rpcError: refusal.code, ...(target === undefined ? {} : { target }) };
  }
  return answered(errorResponse(id, JsonRpcCode.UpstreamUnavailable, error.message), target);
}

/** A bound or a policy's rate limit refused the request: its reply (status, -32003, Retry-After). */
export function limited(error: LimitError | RateLimitError, id: JsonRpcId | null): Outcome {
  return { reply: error.reply(id), rpcError: error.code };
}
