/**
 * Downstream HTTP checks: required headers and bounded body reading. Validators return the Reply to
 * send, or undefined to go on.
 */
import { isModernVersion, MODERN_VERSIONS } from './era.js';
import { errorResponse, JsonRpcCode, rpcErrorReply } from './errors.js';
import type { HttpRequest, IncomingRequest } from './incoming.js';
import type { JsonRpcId } from './jsonrpc.js';
import { isSupportedVersion, SUPPORTED_VERSIONS } from './protocol-version.js';
import { jsonReply, type Reply } from './reply.js';

function accepts(request: HttpRequest, type: string): boolean {
  const accept = request.headers.get('accept');
  return accept?.toLowerCase().includes(type) === true;
}

export function checkPostHeaders(request: HttpRequest): Reply | undefined {
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

export function checkGetHeaders(request: HttpRequest): Reply | undefined {
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
 * A version the gateway does not serve: the spec's UnsupportedProtocolVersion, with the revisions
 * it does (a dual-era client picks one) and the one asked for, under the request's own id.
 */
export function unsupportedVersion(version: string, id: JsonRpcId | null = null): Reply {
  // As server/discover lists them: the sessionless revisions (2025 ones are negotiated by initialize).
  const supported = [...MODERN_VERSIONS];
  const message = `Unsupported protocol version ${JSON.stringify(version.slice(0, 40))}: this gateway serves ${supported.join(', ')}, and ${SUPPORTED_VERSIONS.join(', ')} through initialize`;
  return jsonReply(
    errorResponse(id, JsonRpcCode.UnsupportedProtocolVersion, message, {
      supported,
      requested: version.slice(0, 40),
    }),
    400,
  );
}

/** `post`: a POST's version is judged after its body is read (the answer carries the request's id). */
export function checkProtocolVersion(request: HttpRequest, post = false): Reply | undefined {
  const version = request.headers.get('mcp-protocol-version');
  if (version === null || isSupportedVersion(version) || post) return undefined;
  // 2026-07-28 has no GET stream and no DELETE: there is no session to listen on or end.
  if (isModernVersion(version)) return { kind: 'empty', status: 405, headers: { allow: 'POST' } };
  return unsupportedVersion(version);
}

export type BodyResult = { readonly text: string } | { readonly reply: Reply };

const unreadable = (): BodyResult => ({
  reply: rpcErrorReply(400, JsonRpcCode.InvalidRequest, 'The request body could not be read'),
});

/**
 * Read the body up to maxBytes, counting bytes as they arrive (node:http never delivers more than a
 * Content-Length, and a chunked body has none). The rest of a body over the limit is read and
 * dropped, so the connection stays usable for the client's next request.
 */
export function readBody(request: IncomingRequest, maxBytes: number): Promise<BodyResult> {
  const tooLarge = (): BodyResult => ({
    reply: rpcErrorReply(413, JsonRpcCode.InvalidRequest, `Request body is larger than ${maxBytes} bytes`),
  });
  const { incoming } = request;
  if (Number(incoming.headers['content-length']) > maxBytes) return Promise.resolve(tooLarge());
  if (incoming.readableEnded) return Promise.resolve(incoming.complete ? { text: '' } : unreadable());
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: BodyResult) => {
      incoming.off('data', data);
      incoming.off('end', end);
      incoming.off('error', failed);
      incoming.off('close', failed);
      resolve(result);
    };
    const data = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= maxBytes) chunks.push(chunk);
      else {
        done(tooLarge());
        incoming.resume(); // flowing with no listener: the rest is dropped
      }
    };
    const end = () =>
      done({ text: (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8') });
    // The client went away (or broke the upload) mid-body.
    const failed = () => done(unreadable());
    incoming.on('data', data);
    incoming.on('end', end);
    incoming.on('error', failed);
    incoming.on('close', failed);
  });
}
