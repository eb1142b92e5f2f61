/**
 * Forward one message to one target and turn the reply into the client's response. Without a
 * rewrite (the transparent single-target path) bytes pass through unparsed, SSE included; with one,
 * each message is parsed once, rewritten and re-framed. Upstream SSE is never buffered.
 */

import { settledWithin } from '../../shared/deadline.js';
import { JsonRpcCode } from '../../shared/errors.js';
import type { McpTarget } from '../../shared/table.js';
import {
  acceptedUnanswered,
  endedUnanswered,
  toUpstreamError,
  type UpstreamError,
} from '../upstream/errors.js';
import { parseJson, readBytes, sseMessages } from '../upstream/read.js';
import type { UpstreamReply } from '../upstream/transport.js';
import type { SessionExchange } from './context.js';
import { accepted, jsonResponse, rpcResponse } from './http.js';
import { errorResponse, isResponse, type JsonRpcId } from './jsonrpc.js';
import { passThroughBytes } from './pass-through.js';
import type { TargetSession } from './session.js';
import { passThroughSse, SseStream, sseResponse } from './sse-stream.js';
import { postToTarget } from './targets.js';
import { post } from './upstream-call.js';

/** Rewrites one upstream message on its way to the client (must not throw). */
export type Rewrite = (message: unknown) => unknown;

export async function forward(
  ex: SessionExchange,
  target: McpTarget,
  state: TargetSession,
  method: string,
  body: string,
  id: JsonRpcId | undefined,
  rewrite?: Rewrite,
): Promise<Response> {
  ex.target = target.name;
  const pending = postToTarget(ex, target, state, method, body, ex.signal, rewrite === undefined);
  // An upstream that sends no headers (a JSON-mode server working on a long call) would leave the
  // client's connection silent until it answers, and idle timeouts of proxies between the client and
  // us would cut it. So a request still waiting after one keep-alive interval is answered as SSE at
  // once: keep-alive comments now, the upstream's messages when they come.
  if (id !== undefined && !(await settledWithin(pending, ex.deps.sseKeepAliveMs))) {
    return earlySse(ex, pending, target, state, id, rewrite);
  }
  let reply: UpstreamReply;
  try {
    reply = await pending;
  } catch (error) {
    if (id !== undefined && ex.signal.aborted) cancelUpstream(ex, target, state, id);
    return upstreamFailure(toUpstreamError(target.name, error, ex.signal), id);
  }
  if (reply.kind === 'accepted') {
    if (id === undefined) return accepted();
    return upstreamFailure(acceptedUnanswered(target.name), id);
  }
  if (id !== undefined) trackInflight(ex, target, id);
  if (reply.kind === 'json') return json(ex, reply.body, target, id, rewrite);
  ex.streamed = true;
  const done = (outcome: 'ok' | 'error') => {
    if (id !== undefined) ex.session.forgetInflight(id);
    if (id !== undefined && ex.signal.aborted) cancelUpstream(ex, target, state, id);
    ex.finish(outcome);
  };
  if (reply.kind === 'json-stream') {
    // Only the transparent path asks for these: the bytes go to the client as they arrive.
    const headers = { 'content-type': 'application/json', 'content-length': String(reply.length) };
    return new Response(passThroughBytes(reply.body, done), { status: 200, headers });
  }
  if (!rewrite) {
    ex.deps.metrics.sseStreamsOpen.inc();
    return sseResponse(
      passThroughSse(
        reply.body,
        ex.deps.sseKeepAliveMs,
        () => {
          ex.deps.metrics.sseStreamsOpen.dec();
          done('ok');
        },
        (error) =>
          id === undefined
            ? undefined
            : errorResponse(
                id,
                JsonRpcCode.UpstreamUnavailable,
                toUpstreamError(target.name, error, ex.signal).message,
              ),
      ),
    );
  }
  return sseResponse(pump(ex, reply.body, target, id, rewrite, done));
}

/** The SSE response that carries keep-alives now and the upstream's messages when they come. */
function earlySse(
  ex: SessionExchange,
  pending: Promise<UpstreamReply>,
  target: McpTarget,
  state: TargetSession,
  id: JsonRpcId,
  rewrite: Rewrite | undefined,
): Response {
  ex.streamed = true;
  trackInflight(ex, target, id);
  ex.deps.metrics.sseStreamsOpen.inc();
  const stream = new SseStream(ex.deps.sseKeepAliveMs, () => ex.deps.metrics.sseStreamsOpen.dec());
  stream.comment(); // first bytes now: the client's connection is no longer silent
  void relayLate(ex, pending, stream, target, state, id, rewrite ?? ((m) => m));
  return sseResponse(stream.readable);
}

/** Write the late upstream reply (JSON or SSE) into an already-open client SSE stream. */
async function relayLate(
  ex: SessionExchange,
  pending: Promise<UpstreamReply>,
  stream: SseStream,
  target: McpTarget,
  state: TargetSession,
  id: JsonRpcId,
  rewrite: Rewrite,
): Promise<void> {
  let outcome: 'ok' | 'error' = 'ok';
  try {
    const reply = await pending;
    if (reply.kind === 'accepted') throw acceptedUnanswered(target.name);
    if (reply.kind === 'json') stream.send(rewrite(parseJson(reply.body, target.name)));
    else if (reply.kind === 'json-stream') {
      stream.send(rewrite(parseJson(await readBytes(reply.body, target.name), target.name)));
    } else await relaySse(reply.body, stream, target, id, rewrite);
  } catch (error) {
    outcome = 'error';
    const failure = toUpstreamError(target.name, error, ex.signal);
    if (!stream.closed) stream.send(errorResponse(id, JsonRpcCode.UpstreamUnavailable, failure.message));
  } finally {
    stream.close();
    ex.session.forgetInflight(id);
    if (ex.signal.aborted) cancelUpstream(ex, target, state, id);
    ex.finish(outcome);
  }
}

function json(
  ex: SessionExchange,
  body: Buffer,
  target: McpTarget,
  id: JsonRpcId | undefined,
  rewrite: Rewrite | undefined,
): Response {
  try {
    if (!rewrite) return new Response(body, { status: 200, headers: JSON_HEADERS });
    return jsonResponse(rewrite(parseJson(body, target.name)));
  } catch (error) {
    return upstreamFailure(toUpstreamError(target.name, error, ex.signal), id);
  } finally {
    if (id !== undefined) ex.session.forgetInflight(id);
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

function pump(
  ex: SessionExchange,
  body: import('node:stream').Readable,
  target: McpTarget,
  id: JsonRpcId | undefined,
  rewrite: Rewrite,
  done: (outcome: 'ok' | 'error') => void,
): ReadableStream<Uint8Array> {
  ex.deps.metrics.sseStreamsOpen.inc();
  const stream = new SseStream(ex.deps.sseKeepAliveMs, () => {
    ex.deps.metrics.sseStreamsOpen.dec();
    if (!body.readableEnded) body.destroy();
  });
  (async () => {
    let outcome: 'ok' | 'error' = 'ok';
    try {
      await relaySse(body, stream, target, id, rewrite);
    } catch (error) {
      outcome = 'error';
      if (!stream.closed && id !== undefined) {
        const failure = toUpstreamError(target.name, error, ex.signal);
        stream.send(errorResponse(id, JsonRpcCode.UpstreamUnavailable, failure.message));
      }
    } finally {
      stream.close();
      done(outcome);
    }
  })();
  return stream.readable;
}

/**
 * The upstream's SSE messages, rewritten, into the client's stream until the response to `id`
 * (sent last) or the client's stream closes; throws when the upstream ends without that response.
 */
async function relaySse(
  body: import('node:stream').Readable,
  stream: SseStream,
  target: McpTarget,
  id: JsonRpcId | undefined,
  rewrite: Rewrite,
): Promise<void> {
  for await (const message of sseMessages(body, target.name)) {
    const answered = isResponse(message) && message.id === id;
    if (!stream.send(rewrite(message)) || answered) return;
  }
  if (id !== undefined && !stream.closed) throw endedUnanswered(target.name);
}

function trackInflight(ex: SessionExchange, target: McpTarget, id: JsonRpcId): void {
  if (ex.backend.targets.length > 1) ex.session.inflight.set(String(id), target.name);
}

/** The client went away mid-request: tell the target so it can stop working on it. */
function cancelUpstream(ex: SessionExchange, target: McpTarget, state: TargetSession, id: JsonRpcId): void {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    method: 'notifications/cancelled',
    params: { requestId: id, reason: 'client disconnected' },
  });
  post(ex.deps, ex.backend.id, target, state, 'notifications/cancelled', body, undefined).catch(() => {});
}

export function upstreamFailure(error: UpstreamError, id: JsonRpcId | undefined): Response {
  if (id === undefined) return accepted();
  return rpcResponse(errorResponse(id, JsonRpcCode.UpstreamUnavailable, error.message));
}
