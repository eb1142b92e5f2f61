/**
 * One error taxonomy for the wire.
 *
 * JSON-RPC codes that mcplane itself answers with. Internal failures are always -32603; a client
 * mistake is never reported as an internal error.
 */
export const JsonRpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** The SDKs' "connection closed"/"session not found" family; used with HTTP 404 for unknown sessions. */
  SessionNotFound: -32001,
  /** An upstream target could not be reached or answered with an error: the message names the target. */
  UpstreamUnavailable: -32002,
  RequestTimeout: -32001,
} as const;
