/**
 * The label values of `mcp_server_operation_duration_seconds` that depend on what a request
 * carried: both bounded whatever the client sent (a tool name only if a target listed it; an
 * error code only from a fixed list).
 */
import type { McpBackend } from '../../shared/table.js';
import { OTHER_TOOL, type ToolLabels } from '../../shared/tool-labels.js';
import { NAME_DELIMITER, shouldPrefix } from './rewrite/naming.js';
import { answerErrorCode } from './wire/answer-error.js';
import { JsonRpcCode } from './wire/errors.js';
import { asObject } from './wire/jsonrpc.js';
import type { Reply } from './wire/reply.js';

/** OpenTelemetry's value for an error outside the known set. */
export const OTHER_ERROR = '_OTHER';

const KNOWN_CODES: ReadonlyMap<number, string> = new Map(
  Object.values(JsonRpcCode).map((code) => [code, String(code)]),
);

/** A JSON-RPC error code as `error_type`: the code, if it is one mcplane or MCP defines. */
export function rpcErrorType(code: number): string {
  return KNOWN_CODES.get(code) ?? OTHER_ERROR;
}

/**
 * The JSON-RPC error code of the answer sent: the gateway's own (`rpcError`), else a target's error
 * passed through as bytes (scanned, not parsed) or rewritten as JSON. SSE streams are not read.
 */
export function answeredError(rpcError: number | undefined, reply: Reply): number | undefined {
  if (rpcError !== undefined) return rpcError;
  if (reply.kind === 'bytes') {
    const { body } = reply;
    // A spliced answer's first part holds its start: as far as the scan needs to read.
    return answerErrorCode(body instanceof Uint8Array ? body : (body[0] ?? new Uint8Array()));
  }
  if (reply.kind !== 'json') return undefined;
  const error = asObject(asObject(reply.body)?.error);
  if (error === undefined) return undefined;
  return typeof error.code === 'number' ? error.code : Number.NaN;
}

/** `error_type` of a finished request: empty on success. */
export function errorType(rpcError: number | undefined, failed: boolean): string {
  if (rpcError !== undefined) return rpcErrorType(rpcError);
  return failed ? OTHER_ERROR : '';
}

/**
 * `gen_ai_tool_name` of a `tools/call` that `target` served: the client's name, without the
 * target's prefix where the backend prefixes, as a label the target listed (else `other`).
 */
export function toolLabel(
  labels: ToolLabels,
  backend: McpBackend,
  name: string,
  target: string | undefined,
): string {
  if (target === undefined) return OTHER_TOOL;
  const upstream =
    shouldPrefix(backend.prefixMode, backend.targets.length) &&
    name.startsWith(target) &&
    name.startsWith(NAME_DELIMITER, target.length)
      ? name.slice(target.length + NAME_DELIMITER.length)
      : name;
  return labels.label(backend.id, target, upstream);
}
