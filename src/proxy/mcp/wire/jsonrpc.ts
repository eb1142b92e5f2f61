/**
 * JSON-RPC 2.0 envelopes as MCP uses them. Validation is hand-written rather than zod because it
 * runs on every message of the hot path; it checks only the envelope, params stay opaque.
 */
export type JsonRpcId = string | number;
export type JsonObject = Record<string, unknown>;

export interface JsonRpcRequest {
  readonly jsonrpc: '2.0';
  readonly id: JsonRpcId;
  readonly method: string;
  readonly params?: JsonObject;
}

export interface JsonRpcNotification {
  readonly jsonrpc: '2.0';
  readonly method: string;
  readonly params?: JsonObject;
}

export interface JsonRpcErrorBody {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

export interface JsonRpcResponse {
  readonly jsonrpc: '2.0';
  readonly id: JsonRpcId | null;
  readonly result?: JsonObject;
  readonly error?: JsonRpcErrorBody;
}

export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export type Classified =
  | { readonly kind: 'request'; readonly message: JsonRpcRequest }
  | { readonly kind: 'notification'; readonly message: JsonRpcNotification }
  | { readonly kind: 'response'; readonly message: JsonRpcResponse };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A session remembers the ids of its requests in flight (and the multiplexer the target each went
 * to), so a string id is bounded: far longer than a UUID, far shorter than a body.
 */
export const MAX_ID_LENGTH = 256;

/**
 * Numeric ids must be integers a double holds exactly: JSON.parse rounds 2^53 + 1 to 2^53, so a
 * larger id would be answered with another id the client cannot match (and the SDK servers refuse
 * it). Fractions are refused too, as the SDKs refuse them.
 */
export const ID_RULE = `id must be a string of at most ${MAX_ID_LENGTH} characters or an integer within ±(2^53−1)`;

function isId(value: unknown): value is JsonRpcId {
  return typeof value === 'string' ? value.length <= MAX_ID_LENGTH : Number.isSafeInteger(value);
}

/** Classify one parsed value, or explain why it is not a JSON-RPC 2.0 message. */
export function classify(value: unknown): Classified | string {
  if (!isObject(value)) return 'a JSON-RPC message must be an object';
  if (value.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"';
  if (value.params !== undefined && !isObject(value.params)) return 'params must be an object';
  if (typeof value.method === 'string') {
    if (value.id === undefined)
      return { kind: 'notification', message: value as unknown as JsonRpcNotification };
    if (!isId(value.id)) return ID_RULE;
    return { kind: 'request', message: value as unknown as JsonRpcRequest };
  }
  if (value.method !== undefined) return 'method must be a string';
  const hasResult = value.result !== undefined;
  const hasError = value.error !== undefined;
  if (hasResult === hasError) return 'a message needs a method, or exactly one of result and error';
  if (value.id !== null && !isId(value.id)) return ID_RULE;
  if (hasError && (!isObject(value.error) || typeof value.error.code !== 'number')) {
    return 'error must be an object with a numeric code';
  }
  return { kind: 'response', message: value as unknown as JsonRpcResponse };
}

export function isResponse(value: unknown): value is JsonRpcResponse {
  return (
    isObject(value) && value.method === undefined && (value.result !== undefined || value.error !== undefined)
  );
}

export function resultResponse(id: JsonRpcId, result: JsonObject): JsonRpcResponse {
  return { jsonrpc: '2.0', id, result };
}

export function asObject(value: unknown): JsonObject | undefined {
  return isObject(value) ? value : undefined;
}
