/**
 * One upstream POST as an undici dispatch handler that turns the response straight into an
 * UpstreamReply: a JSON body is collected from the socket's chunks (bounded), an SSE body becomes a
 * Readable with backpressure, anything else is refused at its headers. For a caller that forwards
 * bytes unread, a JSON body that declares STREAM_JSON_BYTES or more streams too, so a large result
 * reaches the client as it arrives and holds no more memory than the client takes. Below that it is
 * collected and sent in one write: at 64 KiB, 0.77× the CPU of streaming it through a web stream
 * (bench/README.md; an earlier version of the gateway measured the reverse). This is the path
 * every proxied call takes; undici's request() API would wrap each response in a stream and an
 * abort signal hookup first, which costs more than the rest of the upstream hop.
 */
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { onAbort as onAbortOf } from '../../shared/abort-hooks.js';
import { type RpcRefusal, toUpstreamError, UpstreamError } from './errors.js';
import { header } from './http-headers.js';
import { MAX_UPSTREAM_MESSAGE_BYTES } from './read.js';
import type { UpstreamReply } from './transport.js';

/** JSON replies at least this large are streamed to a pass-through caller instead of collected. */
export const STREAM_JSON_BYTES = 256 * 1024;
/** The most of a 4xx answer's body read for the JSON-RPC error it may carry. */
const MAX_REFUSAL_BYTES = 16 * 1024;

/**
 * A target's non-2xx answer. With a JSON-RPC error in the body (a 2026-07-28 server refuses a bad
 * header or version so), the error travels along: the client gets the target's own code and reason.
 */
function statusError(target: string, status: number, body?: Buffer): UpstreamError {
  let refusal: RpcRefusal | undefined;
  try {
    const parsed = body === undefined ? undefined : (JSON.parse(body.toString('utf8')) as unknown);
    const error = (parsed as { error?: unknown } | undefined)?.error as Partial<RpcRefusal> | undefined;
    if (error && Number.isInteger(error.code) && typeof error.message === 'string') {
      refusal = { code: error.code!, message: error.message.slice(0, 1000), data: error.data };
    }
  } catch {
    // Not JSON after all: the status is all there is.
  }
  return new UpstreamError(target, 'status', `target "${target}" answered HTTP ${status}`, status, refusal);
}

export function dispatchPost(
  dispatcher: Dispatcher,
  request: Dispatcher.DispatchOptions,
  target: string,
  signal: AbortSignal | undefined,
  options: {
    /** The request carried an upstream session id (a 404 then means the session is gone). */
    readonly hadSession: boolean;
    /** The caller forwards the bytes unread: large JSON replies may stream. */
    readonly passThrough?: boolean;
  },
): Promise<UpstreamReply> {
  const { hadSession, passThrough = false } = options;
  return new Promise((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    /** 'json' collects, 'stream' pushes into `stream`, 'ignore' drops the rest of the body. */
    let mode: 'json' | 'stream' | 'ignore' = 'ignore';
    let stream: Readable | undefined;
    let sessionId: string | undefined;
    /** The HTTP status of a 4xx JSON answer being read. */
    let refusedWith: number | undefined;
    const chunks: Buffer[] = [];
    let size = 0;

    // Before the request has a connection (queued in the pool) there is no controller yet: the
    // caller is answered now, and onRequestStart aborts the request when its turn comes.
    const onAbort = () => {
      controller?.abort(signal?.reason ?? new Error('aborted'));
      fail(signal?.reason);
    };
    let detach = () => {};
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      detach();
      reject(toUpstreamError(target, error, signal));
    };
    const succeed = (reply: UpstreamReply) => {
      if (settled) return;
      settled = true;
      if (reply.kind !== 'sse' && reply.kind !== 'json-stream') detach();
      resolve(reply);
    };

    const tooLarge = (c: Dispatcher.DispatchController) => {
      const limit = MAX_UPSTREAM_MESSAGE_BYTES;
      fail(new UpstreamError(target, 'protocol', `target "${target}" sent a message over ${limit} bytes`));
      mode = 'ignore';
      c.abort(new Error('reply too large'));
    };

    if (signal?.aborted) {
      fail(signal.reason);
      return;
    }
    if (signal) detach = onAbortOf(signal, onAbort);

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (signal?.aborted) c.abort(signal.reason);
      },
      onResponseStart(c, statusCode, headers) {
        sessionId = header(headers, 'mcp-session-id');
        if (statusCode === 202 || statusCode === 204) {
          succeed({ kind: 'accepted', sessionId });
          return;
        }
        if (statusCode < 200 || statusCode > 299) {
          if (statusCode === 404 && hadSession) {
            fail(
              new UpstreamError(
                target,
                'session-expired',
                `target "${target}" no longer knows its session`,
                404,
              ),
            );
          } else if (
            statusCode >= 400 &&
            statusCode < 500 &&
            (header(headers, 'content-type') ?? '').toLowerCase().startsWith('application/json')
          ) {
            // A refusal that may say why (a JSON-RPC error): read it, bounded, then fail with it.
            refusedWith = statusCode;
            mode = 'json';
          } else {
            fail(statusError(target, statusCode));
          }
          return;
        }
        const type = (header(headers, 'content-type') ?? '').toLowerCase();
        const streaming = () =>
          new Readable({
            read: () => c.resume(),
            destroy: (error, callback) => {
              detach();
              if (!c.aborted && mode === 'stream') c.abort(error ?? new Error('the reader stopped'));
              callback(error);
            },
          });
        if (type.startsWith('application/json')) {
          const declared = header(headers, 'content-length');
          const length = declared === undefined ? Number.NaN : Number(declared);
          if (length > MAX_UPSTREAM_MESSAGE_BYTES) {
            tooLarge(c);
          } else if (passThrough && Number.isSafeInteger(length) && length >= STREAM_JSON_BYTES) {
            // Declared and within bounds: stream it. A body without a length is collected, so that
            // one over the limit still gets a clean error rather than a response cut off midway.
            mode = 'stream';
            stream = streaming();
            succeed({ kind: 'json-stream', sessionId, body: stream, length });
          } else {
            mode = 'json';
          }
        } else if (type.startsWith('text/event-stream')) {
          mode = 'stream';
          stream = streaming();
          succeed({ kind: 'sse', sessionId, body: stream });
        } else {
          fail(
            new UpstreamError(
              target,
              'protocol',
              `target "${target}" is not an MCP server: it answered with content type "${type || 'none'}"`,
            ),
          );
        }
      },
      onResponseData(c, chunk) {
        if (mode === 'json') {
          size += chunk.length;
          if (refusedWith !== undefined && size > MAX_REFUSAL_BYTES) {
            fail(statusError(target, refusedWith));
            mode = 'ignore';
            c.abort(new Error('refusal too large'));
            return;
          }
          if (size > MAX_UPSTREAM_MESSAGE_BYTES) {
            tooLarge(c);
            return;
          }
          chunks.push(chunk);
        } else if (mode === 'stream' && stream && !stream.push(chunk)) {
          c.pause();
        }
      },
      onResponseEnd() {
        if (mode === 'json' && refusedWith !== undefined) {
          fail(statusError(target, refusedWith, Buffer.concat(chunks, size)));
        } else if (mode === 'json') {
          succeed({
            kind: 'json',
            sessionId,
            body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
          });
        } else if (mode === 'stream') {
          mode = 'ignore';
          detach();
          stream?.push(null);
        }
      },
      onResponseError(_c, error) {
        if (mode === 'stream' && stream) {
          mode = 'ignore';
          detach();
          stream.destroy(toUpstreamError(target, error, signal));
          return;
        }
        fail(error);
      },
    };
    try {
      dispatcher.dispatch(request, handler);
    } catch (error) {
      fail(error);
    }
  });
}
