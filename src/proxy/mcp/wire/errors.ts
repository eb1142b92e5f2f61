/**
 * The JSON-RPC errors mcplane answers with, and the replies that carry them. Internal failures are
 * always -32603; a client's mistake is never reported as an internal error.
 */
import type { JsonRpcId, JsonRpcResponse } from './jsonrpc.js';
import { jsonReply, type Reply } from './reply.js';

export const JsonRpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** With HTTP 404: the session is unknown here; the SDKs then start a new one. */
  SessionNotFound: -32001,
  /** An upstream target could not be reached or answered with an error: the message names the target. */
  UpstreamUnavailable: -32002,
  /**
   * A bound was hit (too many requests in flight, a batch too long, a stream over its buffer): the
   * message names the bound and its flag. agentgateway answers resource exhaustion with this code too.
   */
  LimitExceeded: -32003,
  /** 2026-07-28 (SEP-2243): a header disagrees with the body; HTTP 400. */
  HeaderMismatch: -32020,
  /** 2026-07-28: the request's protocol version is not served here; `data.supported` lists what is. */
  UnsupportedProtocolVersion: -32022,
} as const;

/** An error raised while serving one request that becomes its JSON-RPC error (HTTP 200). */
export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export const invalidParams = (message: string) => new RpcError(JsonRpcCode.InvalidParams, message);

export function errorResponse(
  id: JsonRpcId | null,
  code: number,
  message: string,
  data?: unknown,
): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

/** A JSON-RPC error as the whole answer, with the HTTP status that goes with it. */
export function rpcErrorReply(
  status: number,
  code: number,
  message: string,
  id: JsonRpcId | null = null,
  headers?: Readonly<Record<string, string>>,
): Reply {
  return jsonReply(errorResponse(id, code, message), status, headers);
}

export function sessionNotFound(): Reply {
  return rpcErrorReply(404, JsonRpcCode.SessionNotFound, 'Session not found: initialize a new session');
}

/**
 * A bound was hit: the JSON-RPC error names it (and its flag), with the HTTP status that fits (429 for
 * a client's own excess, 503 for the gateway's capacity) and, when waiting helps, Retry-After.
 */
export function limitReply(
  status: number,
  message: string,
  id: JsonRpcId | null = null,
  retryAfterSeconds?: number,
): Reply {
  const headers = retryAfterSeconds === undefined ? undefined : { 'retry-after': String(retryAfterSeconds) };
  return rpcErrorReply(status, JsonRpcCode.LimitExceeded, message, id, headers);
}
