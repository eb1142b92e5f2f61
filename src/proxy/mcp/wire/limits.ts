/**
 * A bound hit while serving one request, raised where it is hit (deep in a fan-out, say) and
 * answered by whoever turns errors into the request's answer: the limit reply (-32003, the status,
 * Retry-After) instead of a JSON-RPC error inside a 200.
 */
import type { LimitName } from '../../../shared/metrics.js';
import { errorResponse, JsonRpcCode, limitReply, RpcError } from './errors.js';
import type { JsonRpcId } from './jsonrpc.js';
import { jsonReply, type Reply } from './reply.js';

export class LimitError extends RpcError {
  override name = 'LimitError';
  constructor(
    readonly limit: LimitName,
    message: string,
    /** 429: the client's own excess, which waiting clears (Retry-After: 1). */
    readonly status = 429,
  ) {
    super(JsonRpcCode.LimitExceeded, message);
  }

  reply(id: JsonRpcId | null): Reply {
    return limitReply(this.status, this.message, id, this.status === 429 ? 1 : undefined);
  }
}

/** --max-session-inflight: the session has `max` requests in flight (or a batch would pass it). */
export function sessionInflightLimit(max: number, batch?: number): LimitError {
  const what = batch === undefined ? 'this request' : `this batch's ${batch} requests`;
  return new LimitError(
    'session_inflight',
    `Too many requests in flight in this session: at most ${max} at once (--max-session-inflight), and ${what} would pass it; retry when some have finished`,
  );
}

/**
 * An AgentgatewayPolicy rate limit refused the request: HTTP 429 with Retry-After, and the JSON-RPC
 * error -32003 with `data.retryAfterMs` (inside a batch, that item's error).
 */
export class RateLimitError extends RpcError {
  override name = 'RateLimitError';
  constructor(
    readonly retryAfterMs: number,
    policy: string,
  ) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(
      JsonRpcCode.LimitExceeded,
      `Rate limit exceeded (AgentgatewayPolicy ${policy}); retry in ${seconds} s`,
      { retryAfterMs: Math.ceil(retryAfterMs) },
    );
  }

  reply(id: JsonRpcId | null): Reply {
    const seconds = Math.max(1, Math.ceil(this.retryAfterMs / 1000));
    return jsonReply(errorResponse(id, this.code, this.message, this.data), 429, {
      'retry-after': String(seconds),
    });
  }
}
