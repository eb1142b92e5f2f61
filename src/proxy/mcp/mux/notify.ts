/**
 * Client notifications and client responses (replies to server requests). Both are answered 202
 * once the target(s) took them. `initialized` and other notifications go to every target the
 * session has started; `cancelled` goes to the target that has the request.
 */

import type { McpTarget } from '../../../shared/table.js';
import type { SessionContext } from '../hop/context.js';
import type { Outcome } from '../hop/outcome.js';
import { ensureTarget } from '../hop/targets.js';
import { post } from '../hop/upstream-call.js';
import { parseServerRequestId } from '../rewrite/ids.js';
import { isTransparent } from '../rewrite/naming.js';
import { JsonRpcCode, rpcErrorReply } from '../wire/errors.js';
import type { JsonRpcNotification, JsonRpcResponse } from '../wire/jsonrpc.js';
import { accepted } from '../wire/reply.js';

async function sendTo(cx: SessionContext, target: McpTarget, method: string, body: string): Promise<void> {
  const state = cx.session.targets.get(target.name) ?? (await ensureTarget(cx, target, cx.signal));
  await post(cx, target, state, method, body, cx.signal);
}

export async function dispatchNotification(
  cx: SessionContext,
  message: JsonRpcNotification,
  raw: string,
): Promise<Outcome> {
  const { backend, session } = cx;
  let targets: McpTarget[];
  if (isTransparent(backend.prefixMode, backend.targets.length)) {
    targets = [backend.targets[0]!];
  } else if (message.method === 'notifications/cancelled') {
    const owner = session.inflight.get(String(message.params?.requestId));
    targets = backend.targets.filter((t) => t.name === owner);
  } else {
    targets = backend.targets.filter((t) => session.targets.has(t.name));
  }
  await Promise.allSettled(targets.map((target) => sendTo(cx, target, message.method, raw)));
  return { reply: accepted() };
}

export async function dispatchResponse(
  cx: SessionContext,
  message: JsonRpcResponse,
  raw: string,
): Promise<Outcome> {
  const { backend } = cx;
  // An answer to a question the gateway asked for a 2026 target (hop/input-rounds.ts).
  if (cx.session.answerInput(message)) return { reply: accepted() };
  if (isTransparent(backend.prefixMode, backend.targets.length)) {
    await sendTo(cx, backend.targets[0]!, 'response', raw).catch(() => {});
    return { reply: accepted() };
  }
  const routed = parseServerRequestId(message.id);
  const target = routed && backend.targets.find((t) => t.name === routed.target);
  if (!routed || !target) {
    const id = JSON.stringify(message.id).slice(0, 100);
    const reply = rpcErrorReply(
      400,
      JsonRpcCode.InvalidRequest,
      `Invalid response: id ${id} does not name a request the gateway sent this session (they look like mcplane/<target>/<n|s>/<id>)`,
    );
    return { reply, rpcError: JsonRpcCode.InvalidRequest };
  }
  await sendTo(cx, target, 'response', JSON.stringify({ ...message, id: routed.id })).catch(() => {});
  return { reply: accepted() };
}
