/**
 * Downstream HTTP checks: required headers and bounded body reading. Validators return the Reply to
 * send, or undefined to go on.
 */
import { isModernVersion } from './era.js';
import { errorResponse, JsonRpcCode, rpcErrorReply } from './errors.js';
import type { JsonRpcId } from './jsonrpc.js';
import { isSupportedVersion, SUPPORTED_VERSIONS } from './protocol-version.js';
import { jsonReply, type Reply } from './reply.js';

function accepts(request: Request, type: string): boolean {
  const accept = request.headers.get('accept');
  return accept?.toLowerCase().includes(type) === true;
}

export function checkPostHeaders(request: Request): Reply | undefined {
  if (!accepts(request, 'application/json') || !accepts(request, 'text/event-stream')) {
    return rpcErrorReply(
      406,
      JsonRpcCode.InvalidRequest,
      'Not Acceptable: the Accept header must include both application/json and text/event-stream',
    );
  }
  const type = request.headers.get('content-type');
  if (type === null || !type.toLowerCase().startsWith('application/json')) {
    return rpcErrorReply(
      415,
      JsonRpcCode.InvalidRequest,
      'Unsupported Media Type: Content-Type must be application/json',
    );
  }
  return checkProtocolVersion(request, true);
}

export function checkGetHeaders(request: Request): Reply | undefined {
  if (!accepts(request, 'text/event-stream')) {
    return rpcErrorReply(
      406,
      JsonRpcCode.InvalidRequest,
      'Not Acceptable: the Accept header must include text/event-stream',
    );
  }
  return checkProtocolVersion(request);
}

/**
 * The 2026-07-28 revision is not served yet: a modern request is answered with the spec's
 * UnsupportedProtocolVersion and the revisions that are, so a dual-era client (the SDK v2's
 * `versionNegotiation: auto`) falls back to the 2025 handshake.
 */
export function unsupportedVersion(version: string, id: JsonRpcId | null = null): Reply {
  const message = `Unsupported protocol version ${JSON.stringify(version.slice(0, 40))}: this gateway serves ${SUPPORTED_VERSIONS.join(', ')} (initialize, then Mcp-Session-Id)`;
  return jsonReply(
    errorResponse(id, JsonRpcCode.UnsupportedProtocolVersion, message, {
      supported: [...SUPPORTED_VERSIONS],
      requested: version.slice(0, 40),
    }),
    400,
  );
}

/** `post`: a modern POST is judged after its body is read (its headers must agree with it first). */
export function checkProtocolVersion(request: Request, post = false): Reply | undefined {
  const version = request.headers.get('mcp-protocol-version');
  if (version === null || isSupportedVersion(version)) return undefined;
  if (isModernVersion(version)) return post ? undefined : unsupportedVersion(version);
  return rpcErrorReply(
    400,
    JsonRpcCode.InvalidRequest,
    `Unsupported MCP-Protocol-Version "${version.slice(0, 40)}"; supported: ${SUPPORTED_VERSIONS.join(', ')}`,
  );
}

export type BodyResult = { readonly text: string } | { readonly reply: Reply };

const unreadable = (): BodyResult => ({
  reply: rpcErrorReply(400, JsonRpcCode.InvalidRequest, 'The request body could not be read'),
});

/** Read the body up to maxBytes: by Content-Length, or counting bytes as a chunked body streams. */
export async function readBody(request: Request, maxBytes: number): Promise<BodyResult> {
  const tooLarge = (): BodyResult => ({
    reply: rpcErrorReply(413, JsonRpcCode.InvalidRequest, `Request body is larger than ${maxBytes} bytes`),
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
      return unreadable();
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
      return unreadable();
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
