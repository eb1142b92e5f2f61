/**
 * Client notifications and client responses (replies to server requests). Both are answered 202
 * once the target(s) took them. `initialized` and other notifications go to every target the
 * session has started; `cancelled` goes to the target that has the request.
 */

import { JsonRpcCode } from '../../shared/errors.js';
import type { McpTarget } from '../../shared/table.js';
import type { SessionExchange } from './context.js';
import { accepted, rpcErrorResponse } from './http.js';
import type { JsonRpcNotification, JsonRpcResponse } from './jsonrpc.js';
import { isTransparent } from './naming.js';
import { parseServerRequestId } from './server-requests.js';
import { ensureTarget } from './targets.js';
import { post } from './upstream-call.js';

async function sendTo(ex: SessionExchange, target: McpTarget, method: string, body: string): Promise<void> {
  const state = ex.session.targets.get(target.name) ?? (await ensureTarget(ex, target, ex.signal));
  await post(ex.deps, ex.backend.id, target, state, method, body, ex.signal);
}

export async function dispatchNotification(
  ex: SessionExchange,
  message: JsonRpcNotification,
  raw: string,
): Promise<Response> {
  const { backend, session } = ex;
  let targets: McpTarget[];
  if (isTransparent(backend.prefixMode, backend.targets.length)) {
    targets = [backend.targets[0]!];
  } else if (message.method === 'notifications/cancelled') {
    const owner = session.inflight.get(String(message.params?.requestId));
    targets = backend.targets.filter((t) => t.name === owner);
  } else {
    targets = backend.targets.filter((t) => session.targets.has(t.name));
  }
  await Promise.allSettled(targets.map((target) => sendTo(ex, target, message.method, raw)));
  return accepted();
}

export async function dispatchResponse(
  ex: SessionExchange,
  message: JsonRpcResponse,
  raw: string,
): Promise<Response> {
  const { backend } = ex;
  if (isTransparent(backend.prefixMode, backend.targets.length)) {
    await sendTo(ex, backend.targets[0]!, 'response', raw).catch(() => {});
    return accepted();
  }
  const routed = parseServerRequestId(message.id);
  const target = routed && backend.targets.find((t) => t.name === routed.target);
  if (!routed || !target) {
    const id = JSON.stringify(message.id).slice(0, 100);
    return rpcErrorResponse(
      400,
      JsonRpcCode.InvalidRequest,
      `Invalid response: id ${id} does not name a request the gateway sent this session (they look like mcplane/<target>/<n|s>/<id>)`,
    );
  }
  await sendTo(ex, target, 'response', JSON.stringify({ ...message, id: routed.id })).catch(() => {});
  return accepted();
}
