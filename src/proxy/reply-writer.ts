/**
 * A Reply written to node:http's ServerResponse: headers as one object, a body in one `end()`, and
 * a stream's chunks with backpressure. No web `Response` is built per call.
 */
import type { ServerResponse } from 'node:http';
import { JsonRpcCode, rpcErrorReply } from './mcp/wire/errors.js';
import { IncomingRequest } from './mcp/wire/incoming.js';
import type { Reply, StreamReply } from './mcp/wire/reply.js';
import type { Connection, RequestHandler } from './server.js';

/** What a listener port answers a request with. */
export type ReplyHandler = (request: IncomingRequest, connection: Connection) => Reply | Promise<Reply>;

const failed = (): Reply => rpcErrorReply(500, JsonRpcCode.InternalError, 'internal gateway error');

/** `handler` served on a port: its Reply written, a failure answered 500 (the handler logs its own). */
export function serveReplies(handler: ReplyHandler): RequestHandler {
  return (req, res, connection) => {
    let answer: Reply | Promise<Reply>;
    try {
      answer = handler(new IncomingRequest(req), connection);
    } catch {
      answer = failed();
    }
    if (answer instanceof Promise)
      answer.then(
        (reply) => send(res, reply),
        () => send(res, failed()),
      );
    else send(res, answer);
  };
}

/** writeReply, where a reply node:http refuses (a header value it will not write) becomes a 500. */
function send(res: ServerResponse, reply: Reply): void {
  try {
    writeReply(res, reply);
  } catch (error) {
    if (res.headersSent) res.destroy(error instanceof Error ? error : undefined);
    else writeReply(res, failed());
  }
}

const JSON_TYPE = 'application/json';
/** A body in parts up to this size is joined before it is written (a larger one is not copied). */
const JOIN_PARTS_BYTES = 16 * 1024;

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

type Headers = Readonly<Record<string, string | number>>;

export function writeReply(res: ServerResponse, reply: Reply): void {
  switch (reply.kind) {
    case 'json': {
      const body = JSON.stringify(reply.body);
      res.writeHead(reply.status, bodyHeaders(Buffer.byteLength(body), reply.headers));
      res.end(body);
      return;
    }
    case 'bytes': {
      const { body } = reply;
      if (body instanceof Uint8Array) {
        res.writeHead(reply.status, bodyHeaders(body.byteLength, reply.headers));
        res.end(body);
        return;
      }
      let length = 0;
      for (const part of body) length += part.byteLength;
      res.writeHead(reply.status, bodyHeaders(length, reply.headers));
      // A small answer is copied into one buffer: each write() costs more than the copy.
      if (length <= JOIN_PARTS_BYTES) {
        res.end(Buffer.concat(body, length));
        return;
      }
      // node:http corks the socket for the rest of the tick: headers and parts leave in one write.
      for (const part of body) res.write(part);
      res.end();
      return;
    }
    case 'empty':
      if (reply.headers) res.writeHead(reply.status, reply.headers);
      else res.writeHead(reply.status);
      res.end();
      return;
    case 'stream':
      writeStream(res, reply);
  }
}

function bodyHeaders(length: number, extra: Headers | undefined): Headers {
  const headers = { 'content-type': JSON_TYPE, 'content-length': length };
  return extra ? { ...headers, ...extra } : headers;
}

function writeStream(res: ServerResponse, reply: StreamReply): void {
  // A JSON stream without its length goes out chunked.
  const own: Headers =
    reply.type === 'sse'
      ? SSE_HEADERS
      : reply.length === undefined
        ? { 'content-type': JSON_TYPE }
        : { 'content-type': JSON_TYPE, 'content-length': reply.length };
  res.writeHead(200, reply.headers ? { ...own, ...reply.headers } : own);
  const reader = reply.body.getReader();
  if (res.destroyed) {
    reader.cancel().catch(() => {});
    return;
  }
  // The client went away (or the drain cut it): stop the stream, so its producer stops too.
  const cancel = () => {
    reader.cancel().catch(() => {});
  };
  res.on('close', cancel);
  awaitFirstChunk(res);
  const broken = (error: unknown) => {
    res.off('close', cancel);
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  const read = (): void => {
    reader.read().then(flow, broken);
  };
  const flow = (result: Awaited<ReturnType<typeof reader.read>>): void => {
    if (result.done) {
      res.off('close', cancel);
      res.end();
      return;
    }
    // node:http corks the socket for the rest of the tick at a write: chunks (and the end) ready in
    // this tick leave in one write with the headers, so an answer that came whole from upstream
    // costs one socket write, not three (headers, chunk, end).
    firstChunk(res);
    if (res.write(result.value)) read();
    else res.once('drain', read);
  };
  read();
}

/**
 * Streamed responses whose headers wait for a first chunk. The headers go out with it when it is
 * ready in this turn of the event loop; otherwise (a slow tool, an idle event stream) they are sent
 * alone at the end of the turn, so the client knows its stream is open. One timer for all of them.
 */
const waiting = new Set<ServerResponse>();
let flushScheduled = false;

function awaitFirstChunk(res: ServerResponse): void {
  waiting.add(res);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flushHeaders);
}

function firstChunk(res: ServerResponse): void {
  waiting.delete(res);
}

function flushHeaders(): void {
  flushScheduled = false;
  // (headersSent is already true after writeHead(): it means stored, not sent.)
  for (const res of waiting) if (!res.destroyed) res.flushHeaders();
  waiting.clear();
}
