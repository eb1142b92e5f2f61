/**
 * `initialize` without a session: fan the client's params out to every target, merge (or pass
 * through for a transparent backend) and seal the new session into its Mcp-Session-Id.
 */
import { JsonRpcCode } from '../../shared/errors.js';
import type { Exchange } from './context.js';
import { fanOut } from './fanout.js';
import { jsonResponse, rpcErrorResponse } from './http.js';
import { errorResponse, type JsonRpcRequest, RpcError, resultResponse } from './jsonrpc.js';
import type { KeyRing } from './key-ring.js';
import { mergeInitialize } from './merge.js';
import { isTransparent } from './naming.js';
import { negotiateVersion } from './protocol-version.js';
import { Session } from './session.js';
import type { SessionStore } from './session-store.js';
import { initializeTarget } from './targets.js';

export async function initializeSession(
  ex: Exchange,
  keyRing: KeyRing,
  store: SessionStore,
  message: JsonRpcRequest,
): Promise<Response> {
  const { id, params } = message;
  if (!params || typeof params.protocolVersion !== 'string') {
    return rpcErrorResponse(
      400,
      JsonRpcCode.InvalidParams,
      'initialize: params.protocolVersion must be a string',
      id,
    );
  }
  const { backend, deps } = ex;
  let answers: Awaited<ReturnType<typeof initializeTarget>>[];
  try {
    const settled = await fanOut(ex, backend.targets, (target, signal) =>
      initializeTarget(deps, backend.id, target, id, params, signal),
    );
    answers = settled.map((answer) => answer.value);
  } catch (error) {
    if (error instanceof RpcError) return jsonResponse(errorResponse(id, error.code, error.message));
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
  return jsonResponse(resultResponse(id, result), 200, { 'mcp-session-id': session.token });
}
