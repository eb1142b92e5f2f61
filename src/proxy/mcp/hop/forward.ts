/**
 * Forward one message to one target and turn the reply into the client's answer. Without a rewrite
 * (the transparent single-target path) bytes pass through unparsed, SSE included; with one, each
 * message is parsed once, rewritten and re-framed. Upstream SSE is never buffered: each relay waits
 * while the client's stream is full, so a client that does not read pauses its upstream.
 */
import type { Readable } from 'node:stream';
import { settledWithin } from '../../../shared/deadline.js';
import type { McpTarget } from '../../../shared/table.js';
import { acceptedUnanswered, endedUnanswered, toUpstreamError } from '../../upstream/errors.js';
import { parseJson, readBytes, sseMessages } from '../../upstream/read.js';
import type { UpstreamReply } from '../../upstream/transport.js';
import type { Rewrite } from '../rewrite/outbound.js';
import type { TargetSession } from '../session/session.js';
import { isModernVersion, NAMED_ITEM } from '../wire/era.js';
import { errorResponse, JsonRpcCode } from '../wire/errors.js';
import { asObject, isResponse, type JsonObject, type JsonRpcId } from '../wire/jsonrpc.js';
import { passThroughBytes } from '../wire/pass-through.js';
import { accepted, jsonReply, streamReply } from '../wire/reply.js';
import { passThroughSse, SseStream, streamBufferError } from '../wire/sse-stream.js';
import type { ParkedUpstream, ServerRequestAnswer, SessionContext } from './context.js';
import { runRounds } from './input-rounds.js';
import { type Outcome, upstreamFailure } from './outcome.js';
import { passedSseAnswer, rewrittenSseAnswer, type SseAnswer } from './sse-answer.js';
import { canResume, followedSse } from './stream-resume.js';
import { postToTarget } from './targets.js';
import { post } from './upstream-call.js';

type End = (outcome: 'ok' | 'error') => void;

export async function forward(
  cx: SessionContext,
  target: McpTarget,
  state: TargetSession,
  method: string,
  body: string,
  id: JsonRpcId | undefined,
  rewrite?: Rewrite,
  /** Called once when the answer is complete (for a stream: when it ends), whatever happened. */
  release?: () => void,
): Promise<Outcome> {
  // A 2025 client's call to a 2026 target: input_required rounds become server→client requests.
  if (id !== undefined && !cx.toClient && isModernVersion(state.protocolVersion) && NAMED_ITEM.has(method))
    return forwardRounds(cx, target, state, body, id, rewrite ?? ((m) => m), release);
  const pending = postToTarget(cx, target, state, method, body, cx.signal, rewrite === undefined);
  // An upstream that sends no headers (a JSON-mode server working on a long call) would leave the
  // client's connection silent until it answers, and idle timeouts of proxies between the client and
  // us would cut it. So a request still waiting after one keep-alive interval is answered as SSE at
  // once: keep-alive comments now, the upstream's messages when they come.
  if (id !== undefined && !(await settledWithin(pending, cx.deps.sseKeepAliveMs))) {
    return earlySse(cx, pending, target, state, id, rewrite, release);
  }
  let reply: UpstreamReply;
  try {
    reply = await pending;
  } catch (error) {
    if (id !== undefined && cx.signal.aborted) cancelUpstream(cx, target, state, id);
    release?.();
    return upstreamFailure(toUpstreamError(target.name, error, cx.signal), id, target.name);
  }
  if (reply.kind === 'accepted') {
    release?.();
    if (id === undefined) return { reply: accepted(), target: target.name };
    return upstreamFailure(acceptedUnanswered(target.name), id, target.name);
  }
  if (id !== undefined) trackInflight(cx, target, id);
  if (reply.kind === 'json') {
    release?.();
    return json(cx, reply.body, target, id, rewrite);
  }
  const relayed: Relayed = { parked: false };
  const done = (end: End): End => {
    return (outcome) => {
      if (id !== undefined) cx.session.forgetInflight(id);
      if (id !== undefined && cx.signal.aborted && !relayed.parked) cancelUpstream(cx, target, state, id);
      release?.();
      end(outcome);
    };
  };
  if (reply.kind === 'json-stream') {
    // Only the transparent path asks for these: the bytes go to the client as they arrive.
    let end: End = () => {};
    const stream = streamReply(
      'json',
      passThroughBytes(reply.body, (outcome) => end(outcome)),
      reply.length,
    );
    end = done(stream.end);
    return { reply: stream.reply, target: target.name };
  }
  const { metrics, sseKeepAliveMs } = cx.deps;
  // The stream's first message is the response (the common call): one JSON answer, no SSE.
  let late = false;
  let upstream = reply.body;
  if (id !== undefined) {
    let first: SseAnswer;
    try {
      first = await (rewrite
        ? rewrittenSseAnswer(reply.body, target.name, id, rewrite, sseKeepAliveMs)
        : passedSseAnswer(reply.body, target.name, id, sseKeepAliveMs));
    } catch (error) {
      cx.session.forgetInflight(id);
      if (cx.signal.aborted) cancelUpstream(cx, target, state, id);
      release?.();
      return upstreamFailure(toUpstreamError(target.name, error, cx.signal), id, target.name);
    }
    if (first.kind === 'answer') {
      cx.session.forgetInflight(id);
      release?.();
      return { reply: first.reply, target: target.name };
    }
    // A stream closed before its answer: a rewriting path reports it, unless mcplane can resume it.
    if (first.ended && rewrite && !canResume(target, state)) {
      cx.session.forgetInflight(id);
      release?.();
      return upstreamFailure(endedUnanswered(target.name), id, target.name);
    }
    late = first.late;
    upstream = followedSse(cx, target, state, id, first.ended ?? upstream);
  }
  metrics.sseStreamsOpen.inc();
  if (!rewrite) {
    let end: End = () => {};
    const stream = streamReply(
      'sse',
      passThroughSse(
        upstream,
        sseKeepAliveMs,
        () => {
          metrics.sseStreamsOpen.dec();
          end('ok');
        },
        // The upstream broke off (or the drain deadline cut it): the client still gets an answer.
        (error) =>
          id === undefined
            ? undefined
            : errorResponse(
                id,
                JsonRpcCode.UpstreamUnavailable,
                toUpstreamError(target.name, error, cx.signal).message,
              ),
        late,
      ),
    );
    end = done(stream.end);
    return { reply: stream.reply, target: target.name };
  }
  const sse = clientStream(cx, id, () => {
    metrics.sseStreamsOpen.dec();
    // A parked call's upstream stream waits for the client's retry (ParkedCalls owns it now).
    if (!upstream.readableEnded && !relayed.parked) upstream.destroy();
  });
  if (late) sse.comment(); // first bytes now: the client's connection is no longer silent
  const stream = streamReply('sse', sse.readable);
  const hook = hookFor(cx, target, state, upstream);
  const messages = sseMessages(upstream, target.name);
  void relay(cx, sse, target, id, done(stream.end), () =>
    relaySse(messages, sse, target, id, rewrite, hook, relayed),
  );
  return { reply: stream.reply, target: target.name };
}

/** The SSE answer of a call whose target may ask the client for input (hop/input-rounds.ts). */
function forwardRounds(
  cx: SessionContext,
  target: McpTarget,
  state: TargetSession,
  body: string,
  id: JsonRpcId,
  rewrite: Rewrite,
  release: (() => void) | undefined,
): Outcome {
  const { sse, stream } = callStream(cx, target, id);
  const end: End = (outcome) => {
    cx.session.forgetInflight(id);
    release?.();
    stream.end(outcome);
  };
  void relay(cx, sse, target, id, end, () =>
    runRounds(cx, target, state, body, id, (message) => sse.send(message), rewrite),
  );
  return { reply: stream.reply, target: target.name };
}

/** Whether a relay handed its upstream stream over to a parked call (it must then stay open). */
interface Relayed {
  parked: boolean;
}

function hookFor(
  cx: SessionContext,
  target: McpTarget,
  state: TargetSession,
  upstream: Readable,
): BoundHook | undefined {
  const hook = cx.serverRequests;
  return hook ? (message, rest) => hook(message, { target, state, upstream, messages: rest }) : undefined;
}

type BoundHook = (message: JsonObject, rest: AsyncGenerator<unknown>) => ServerRequestAnswer;

/**
 * Continue a parked call (a 2026-07-28 client's retry): relay what its target sends next into a
 * new SSE answer, until the response to the call's upstream id.
 */
export function resumeParked(
  cx: SessionContext,
  call: ParkedUpstream,
  hopId: JsonRpcId,
  rewrite: Rewrite,
): Outcome {
  const { target, state, upstream, messages } = call;
  const { metrics } = cx.deps;
  const relayed: Relayed = { parked: false };
  metrics.sseStreamsOpen.inc();
  const sse = clientStream(cx, hopId, () => {
    metrics.sseStreamsOpen.dec();
    if (!upstream.readableEnded && !relayed.parked) upstream.destroy();
  });
  const stream = streamReply('sse', sse.readable);
  const end: End = (outcome) => {
    if (cx.signal.aborted && !relayed.parked) cancelUpstream(cx, target, state, hopId);
    stream.end(outcome);
  };
  const hook = hookFor(cx, target, state, upstream);
  void relay(cx, sse, target, hopId, end, () =>
    relaySse(messages, sse, target, hopId, rewrite, hook, relayed),
  );
  return { reply: stream.reply, target: target.name };
}

/** The SSE answer that carries keep-alives now and the upstream's messages when they come. */
function earlySse(
  cx: SessionContext,
  pending: Promise<UpstreamReply>,
  target: McpTarget,
  state: TargetSession,
  id: JsonRpcId,
  rewrite: Rewrite | undefined,
  release: (() => void) | undefined,
): Outcome {
  const { sse, stream } = callStream(cx, target, id);
  sse.comment(); // first bytes now: the client's connection is no longer silent
  const end: End = (outcome) => {
    cx.session.forgetInflight(id);
    if (cx.signal.aborted) cancelUpstream(cx, target, state, id);
    release?.();
    stream.end(outcome);
  };
  const follow = (body: Readable) => followedSse(cx, target, state, id, body);
  void relay(cx, sse, target, id, end, () =>
    relayLate(pending, sse, target, id, rewrite ?? ((m) => m), follow),
  );
  return { reply: stream.reply, target: target.name };
}

/** A routed call's SSE answer, opened before the target has said anything (counted, tracked). */
function callStream(cx: SessionContext, target: McpTarget, id: JsonRpcId) {
  trackInflight(cx, target, id);
  const { metrics } = cx.deps;
  metrics.sseStreamsOpen.inc();
  const sse = clientStream(cx, id, () => metrics.sseStreamsOpen.dec());
  return { sse, stream: streamReply('sse', sse.readable) };
}

/** The client's SSE stream for a request: past its cap it ends with the request's -32003 error. */
function clientStream(cx: SessionContext, id: JsonRpcId | undefined, onClose: () => void): SseStream {
  const limits = cx.deps.sse;
  const lastWords = id === undefined ? undefined : () => streamBufferError(limits.maxBytes, id);
  return new SseStream(cx.deps.sseKeepAliveMs, onClose, limits, lastWords);
}

/**
 * Run a relay into the client's stream; when it fails, the request gets its JSON-RPC error on the
 * stream (while the client still reads it). The stream closes, then `end` reports how it went.
 */
async function relay(
  cx: SessionContext,
  sse: SseStream,
  target: McpTarget,
  id: JsonRpcId | undefined,
  end: End,
  run: () => Promise<void>,
): Promise<void> {
  let outcome: 'ok' | 'error' = 'ok';
  try {
    await run();
  } catch (error) {
    outcome = 'error';
    if (!sse.closed && id !== undefined) {
      const failure = toUpstreamError(target.name, error, cx.signal);
      sse.send(errorResponse(id, JsonRpcCode.UpstreamUnavailable, failure.message));
    }
  } finally {
    sse.close();
    end(sse.overflowed ? 'error' : outcome);
  }
}

/** Write the late upstream reply (JSON or SSE) into an already-open client SSE stream. */
async function relayLate(
  pending: Promise<UpstreamReply>,
  sse: SseStream,
  target: McpTarget,
  id: JsonRpcId,
  rewrite: Rewrite,
  /** The SSE body as the relay reads it (resumed across the target's closes where it can be). */
  follow: (body: Readable) => Readable,
): Promise<void> {
  const reply = await pending;
  if (reply.kind === 'accepted') throw acceptedUnanswered(target.name);
  if (reply.kind === 'json') sse.send(rewrite(parseJson(reply.body, target.name)));
  else if (reply.kind === 'json-stream') {
    sse.send(rewrite(parseJson(await readBytes(reply.body, target.name), target.name)));
  } else await relaySse(sseMessages(follow(reply.body), target.name), sse, target, id, rewrite);
}

function json(
  cx: SessionContext,
  body: Buffer,
  target: McpTarget,
  id: JsonRpcId | undefined,
  rewrite: Rewrite | undefined,
): Outcome {
  try {
    if (!rewrite) return { reply: { kind: 'bytes', status: 200, body }, target: target.name };
    const spliced = rewrite.bytes?.(body);
    if (spliced) return { reply: { kind: 'bytes', status: 200, body: spliced }, target: target.name };
    return { reply: jsonReply(rewrite(parseJson(body, target.name))), target: target.name };
  } catch (error) {
    return upstreamFailure(toUpstreamError(target.name, error, cx.signal), id, target.name);
  } finally {
    if (id !== undefined) cx.session.forgetInflight(id);
  }
}

/**
 * The upstream's SSE messages, rewritten, into the client's stream until the response to `id`
 * (sent last) or the client's stream closes; throws when the upstream ends without that response.
 * With a hook (a 2026-07-28 client), a target's request to the client is the hook's to answer: it
 * may end the client's answer with `input_required` and park the rest of the upstream stream.
 * The messages are read with next(), not for-await: leaving the loop must not end a parked stream.
 */
async function relaySse(
  messages: AsyncGenerator<unknown>,
  sse: SseStream,
  target: McpTarget,
  id: JsonRpcId | undefined,
  rewrite: Rewrite,
  hook?: BoundHook,
  relayed?: Relayed,
): Promise<void> {
  for (;;) {
    const next = await messages.next();
    if (next.done) break;
    const message = next.value;
    const answered = isResponse(message) && message.id === id;
    // The next message is read only once the client has taken enough: the upstream waits meanwhile.
    while (sse.full) await sse.ready();
    const request = hook && !answered ? asServerRequest(message) : undefined;
    if (request) {
      const answer = hook!(request, messages);
      if (answer.kind === 'answered') continue;
      if (relayed) relayed.parked = true;
      sse.send(answer.message);
      return;
    }
    if (!sse.send(rewrite(message)) || answered) return;
  }
  if (id !== undefined && !sse.closed) throw endedUnanswered(target.name);
}

/** A request a target sends the client (it has a method and an id). */
function asServerRequest(message: unknown): JsonObject | undefined {
  const m = asObject(message);
  return m && typeof m.method === 'string' && m.id !== undefined ? m : undefined;
}

function trackInflight(cx: SessionContext, target: McpTarget, id: JsonRpcId): void {
  if (cx.backend.targets.length > 1) cx.session.inflight.set(String(id), target.name);
}

/** The client went away (or the drain deadline cut the call): tell the target so it can stop working on it. */
function cancelUpstream(cx: SessionContext, target: McpTarget, state: TargetSession, id: JsonRpcId): void {
  const cause: unknown = cx.signal.reason;
  const shutdown = cause instanceof Error && cause.name === 'ShutdownError';
  const body = JSON.stringify({
    jsonrpc: '2.0',
    method: 'notifications/cancelled',
    params: { requestId: id, reason: shutdown ? 'the gateway is shutting down' : 'client disconnected' },
  });
  post(cx, target, state, 'notifications/cancelled', body, undefined).catch(() => {});
}
