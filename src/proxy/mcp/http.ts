/**
 * Downstream HTTP helpers: header checks, bounded body reading and JSON / JSON-RPC error responses.
 * Validators return a Response to send, or undefined to go on.
 */
import { JsonRpcCode } from '../../shared/errors.js';
import { errorResponse, type JsonRpcId, type JsonRpcResponse } from './jsonrpc.js';
import { isSupportedVersion, SUPPORTED_VERSIONS } from './protocol-version.js';

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

export function jsonResponse(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS,
  });
}

export function rpcErrorResponse(
  status: number,
  code: number,
  message: string,
  id: JsonRpcId | null = null,
): Response {
  return jsonResponse(errorResponse(id, code, message), status);
}

export function rpcResponse(message: JsonRpcResponse, headers?: Record<string, string>): Response {
  return jsonResponse(message, 200, headers);
}

export const accepted = (): Response => new Response(null, { status: 202 });

function accepts(request: Request, type: string): boolean {
  const accept = request.headers.get('accept');
  return accept?.toLowerCase().includes(type) === true;
}

export function checkPostHeaders(request: Request): Response | undefined {
  if (!accepts(request, 'application/json') || !accepts(request, 'text/event-stream')) {
    return rpcErrorResponse(
      406,
      JsonRpcCode.InvalidRequest,
      'Not Acceptable: the Accept header must include both application/json and text/event-stream',
    );
  }
  const type = request.headers.get('content-type');
  if (type === null || !type.toLowerCase().startsWith('application/json')) {
    return rpcErrorResponse(
      415,
      JsonRpcCode.InvalidRequest,
      'Unsupported Media Type: Content-Type must be application/json',
    );
  }
  return checkProtocolVersion(request);
}

export function checkGetHeaders(request: Request): Response | undefined {
  if (!accepts(request, 'text/event-stream')) {
    return rpcErrorResponse(
      406,
      JsonRpcCode.InvalidRequest,
      'Not Acceptable: the Accept header must include text/event-stream',
    );
  }
  return checkProtocolVersion(request);
}

export function checkProtocolVersion(request: Request): Response | undefined {
  const version = request.headers.get('mcp-protocol-version');
  if (version === null || isSupportedVersion(version)) return undefined;
  return rpcErrorResponse(
    400,
    JsonRpcCode.InvalidRequest,
    `Unsupported MCP-Protocol-Version "${version.slice(0, 40)}"; supported: ${SUPPORTED_VERSIONS.join(', ')}`,
  );
}

export type BodyResult = { readonly text: string } | { readonly response: Response };

/** Read the body up to maxBytes: by Content-Length, or counting bytes as a chunked body streams. */
export async function readBody(request: Request, maxBytes: number): Promise<BodyResult> {
  const tooLarge = () => ({
    response: rpcErrorResponse(
      413,
      JsonRpcCode.InvalidRequest,
      `Request body is larger than ${maxBytes} bytes`,
    ),
  });
  const length = request.headers.get('content-length');
  const declared = Number(length);
  if (declared > maxBytes) return tooLarge();
  if (length !== null && Number.isInteger(declared) && declared >= 0) {
    // Node's HTTP parser never delivers more than Content-Length, so the bound already holds, and
    // text() reads the socket directly instead of through a web ReadableStream.
    try {
      return { text: await request.text() };
    } catch {
      return {
        response: rpcErrorResponse(400, JsonRpcCode.InvalidRequest, 'The request body could not be read'),
      };
    }
  }
  if (!request.body) return { text: '' };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch {
      // The client went away (or broke the upload) mid-body.
      return {
        response: rpcErrorResponse(400, JsonRpcCode.InvalidRequest, 'The request body could not be read'),
      };
    }
    const { done, value } = chunk;
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      reader.cancel().catch(() => {});
      return tooLarge();
    }
    chunks.push(value);
  }
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') };
}

export function sessionNotFound(): Response {
  return rpcErrorResponse(404, JsonRpcCode.SessionNotFound, 'Session not found: initialize a new session');
}
