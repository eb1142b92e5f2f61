/**
 * Experimental tasks (2025-11-25) through a multiplexed backend. Task ids are `<target>+<id>`, like
 * resource URIs but in every prefix mode (ids are opaque, and routing tasks/get by owner would need
 * a list first). tasks/list merges the targets that list tasks (with gateway cursors); tasks/get,
 * tasks/result and tasks/cancel go to the target the id names. When no target of the backend
 * supports tasks, the method does not exist here: -32601, as for any capability a server lacks.
 */
import type { McpTarget } from '../../../shared/table.js';
import type { SessionContext } from '../hop/context.js';
import { answered, type Outcome } from '../hop/outcome.js';
import { outboundFor } from '../hop/session-rewrite.js';
import { forwardCounted } from '../hop/target-calls.js';
import { ensureTarget } from '../hop/targets.js';
import type { ListSpec } from '../rewrite/merge.js';
import { prefixUri, splitUri } from '../rewrite/naming.js';
import type { Rewrite } from '../rewrite/outbound.js';
import { invalidParams, JsonRpcCode, RpcError } from '../wire/errors.js';
import { asObject, type JsonRpcRequest, resultResponse } from '../wire/jsonrpc.js';
import { mergedList } from './lists.js';

const TASKS_LIST: ListSpec = {
  method: 'tasks/list',
  key: 'tasks',
  field: 'taskId',
  style: 'uri',
  flag: 'j',
  alwaysPrefix: true,
};

/** Targets that (may) have a capability: ones not started yet count until they say otherwise. */
function offering(cx: SessionContext, flag: string): McpTarget[] {
  return cx.backend.targets.filter((t) => {
    const state = cx.session.targets.get(t.name);
    return state === undefined || state.flags.includes(flag);
  });
}

function notFound(method: string, why: string): RpcError {
  return new RpcError(JsonRpcCode.MethodNotFound, `Method not found: ${method} (${why})`);
}

export async function taskRequest(cx: SessionContext, message: JsonRpcRequest): Promise<Outcome> {
  const { method, id, params } = message;
  if (offering(cx, 'k').length === 0) throw notFound(method, 'no target of this backend supports tasks');
  if (method === 'tasks/list') {
    if (offering(cx, 'j').length === 0) throw notFound(method, 'no target of this backend lists tasks');
    return answered(resultResponse(id, await mergedList(cx, TASKS_LIST, id, params)));
  }
  const taskId = params?.taskId;
  if (typeof taskId !== 'string') throw invalidParams(`${method}: params.taskId must be a string`);
  const split = splitUri(taskId);
  const target = split && cx.backend.targets.find((t) => t.name === split.target);
  if (!split || !target) {
    const names = cx.backend.targets.map((t) => t.name).join(', ');
    throw invalidParams(`Unknown task "${taskId}": task ids are <target>+<id> and the targets are ${names}`);
  }
  const state = await ensureTarget(cx, target, cx.signal);
  if (!state.flags.includes('k')) {
    throw invalidParams(`Unknown task "${taskId}": target "${target.name}" does not support tasks`);
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, taskId: split.name } });
  return forwardCounted(cx, target, state, method, body, id, taskRewrite(cx, target.name, message));
}

/** tasks/get and tasks/cancel answer with the task itself: its id back to the client's form. */
function taskRewrite(cx: SessionContext, target: string, message: JsonRpcRequest): Rewrite {
  const base = outboundFor(cx, target);
  if (message.method === 'tasks/result') return base;
  return (m) => {
    const out = asObject(base(m));
    const result = asObject(out?.result);
    if (!out || !result || out.id !== message.id || typeof result.taskId !== 'string') return out ?? m;
    return { ...out, result: { ...result, taskId: prefixUri(target, result.taskId) } };
  };
}
