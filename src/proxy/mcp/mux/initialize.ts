/**
 * `initialize` without a session: check the params' size and that a place is free, fan the client's
 * params out to every target, merge (or pass through for a transparent backend) and seal the new
 * session into its Mcp-Session-Id (the session keeps only a bounded part of the params).
 */
import type { Context } from '../hop/context.js';
import { answered, type Outcome } from '../hop/outcome.js';
import { initializeTarget } from '../hop/targets.js';
import { mergeInitialize } from '../rewrite/merge.js';
import { isTransparent } from '../rewrite/naming.js';
import type { KeyRing } from '../session/key-ring.js';
import { Session } from '../session/session.js';
import { type SessionStore, sessionsFull } from '../session/session-store.js';
import { errorResponse, JsonRpcCode, limitReply, RpcError, rpcErrorReply } from '../wire/errors.js';
import { type JsonRpcRequest, resultResponse } from '../wire/jsonrpc.js';
import { negotiateVersion } from '../wire/protocol-version.js';
import { jsonReply } from '../wire/reply.js';
import { fanOut } from './fanout.js';

/** What starting a session needs from the service. */
export interface SessionStart {
  readonly keyRing: KeyRing;
  readonly store: SessionStore;
  readonly maxSessions: number;
  readonly maxInitializeBytes: number;
  /** The store's size changed (or may have): mcplane_sessions_active follows it. */
  readonly reportSessions: () => void;
}

export async function initializeSession(
  cx: Context,
  start: SessionStart,
  message: JsonRpcRequest,
): Promise<Outcome> {
  const { id, params } = message;
  if (!params || typeof params.protocolVersion !== 'string') {
    const reply = rpcErrorReply(
      400,
      JsonRpcCode.InvalidParams,
      'initialize: params.protocolVersion must be a string',
      id,
    );
    return { reply, rpcError: JsonRpcCode.InvalidParams };
  }
  const { backend, deps } = cx;
  const size = Buffer.byteLength(JSON.stringify(params));
  if (size > start.maxInitializeBytes) {
    deps.metrics.limitRejected('initialize_bytes');
    const text = `initialize params are ${size} bytes, over --max-initialize-bytes (${start.maxInitializeBytes})`;
    return { reply: limitReply(400, text, id), rpcError: JsonRpcCode.LimitExceeded };
  }
  // Before any target is asked: a refused session must not leave upstream sessions behind.
  if (!start.store.reserve()) {
    deps.metrics.limitRejected('sessions');
    start.reportSessions();
    const reply = limitReply(503, sessionsFull(start.maxSessions), id, 1);
    return { reply, rpcError: JsonRpcCode.LimitExceeded };
  }
  let answers: Awaited<ReturnType<typeof initializeTarget>>[];
  try {
    const settled = await fanOut(cx, backend.targets, (target, signal) =>
      initializeTarget(cx, target, id, params, signal),
    );
    answers = settled.map((answer) => answer.value);
  } catch (error) {
    start.store.release();
    if (error instanceof RpcError) return answered(errorResponse(id, error.code, error.message));
    throw error;
  }
  const result = isTransparent(backend.prefixMode, backend.targets.length)
    ? answers[0]!.result
    : mergeInitialize(
        answers.map(({ state, result }) => ({ target: state.name, result })),
        negotiateVersion(params.protocolVersion),
      );
  const states = answers.map((answer) => answer.state);
  const session = Session.create(
    start.keyRing,
    backend,
    result.protocolVersion as string,
    params,
    states,
    Date.now(),
    cx.access.principal,
  );
  start.store.add(session);
  deps.metrics.sessionsCreated.inc();
  start.reportSessions();
  return { reply: jsonReply(resultResponse(id, result), 200, { 'mcp-session-id': session.token }) };
}
