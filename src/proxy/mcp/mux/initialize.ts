/**
 * `initialize` without a session: fan the client's params out to every target, merge (or pass
 * through for a transparent backend) and seal the new session into its Mcp-Session-Id.
 */
import type { Context } from '../hop/context.js';
import { answered, type Outcome } from '../hop/outcome.js';
import { initializeTarget } from '../hop/targets.js';
import { mergeInitialize } from '../rewrite/merge.js';
import { isTransparent } from '../rewrite/naming.js';
import type { KeyRing } from '../session/key-ring.js';
import { Session } from '../session/session.js';
import type { SessionStore } from '../session/session-store.js';
import { errorResponse, JsonRpcCode, RpcError, rpcErrorReply } from '../wire/errors.js';
import { type JsonRpcRequest, resultResponse } from '../wire/jsonrpc.js';
import { negotiateVersion } from '../wire/protocol-version.js';
import { jsonReply } from '../wire/reply.js';
import { fanOut } from './fanout.js';

export async function initializeSession(
  cx: Context,
  keyRing: KeyRing,
  store: SessionStore,
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
  let answers: Awaited<ReturnType<typeof initializeTarget>>[];
  try {
    const settled = await fanOut(cx, backend.targets, (target, signal) =>
      initializeTarget(deps, backend.id, target, id, params, signal),
    );
    answers = settled.map((answer) => answer.value);
  } catch (error) {
    if (error instanceof RpcError) return answered(errorResponse(id, error.code, error.message));
    throw error;
  }
  const result = isTransparent(backend.prefixMode, backend.targets.length)
    ? answers[0]!.result
    : mergeInitialize(
        answers.map(({ state, result }) => ({ target: state.name, result })),
        negotiateVersion(params.protocolVersion),
      );
  const session = Session.create(
    keyRing,
    backend.id,
    result.protocolVersion as string,
    params,
    answers.map((answer) => answer.state),
  );
  store.add(session);
  deps.metrics.sessionsCreated.inc();
  deps.metrics.sessionsActive.set(store.size);
  return { reply: jsonReply(resultResponse(id, result), 200, { 'mcp-session-id': session.token }) };
}
