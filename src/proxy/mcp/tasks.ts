/**
 * Experimental tasks (2025-11-25) through a multiplexed backend. Task ids are `<target>+<id>`, like
 * resource URIs but in every prefix mode (ids are opaque, and routing tasks/get by owner would need
 * a list first). tasks/list merges the targets that list tasks (with gateway cursors); tasks/get,
 * tasks/result and tasks/cancel go to the target the id names. When no target of the backend
 * supports tasks, the method does not exist here: -32601, as for any capability a server lacks.
 */
import { JsonRpcCode } from '../../shared/errors.js';
import type { McpTarget } from '../../shared/table.js';
import type { SessionExchange } from './context.js';
import { forward, type Rewrite } from './forward.js';
import { rpcResponse } from './http.js';
import { asObject, invalidParams, type JsonRpcRequest, RpcError, resultResponse } from './jsonrpc.js';
import { mergedList } from './lists.js';
import type { ListSpec } from './merge.js';
import { prefixUri, splitUri } from './naming.js';
import { outbound } from './server-requests.js';
import { ensureTarget } from './targets.js';

const TASKS_LIST: ListSpec = {
  method: 'tasks/list',
  key: 'tasks',
  field: 'taskId',
  style: 'uri',
  flag: 'j',
  alwaysPrefix: true,
};

/** Targets that (may) have a capability: ones not started yet count until they say otherwise. */
function offering(ex: SessionExchange, flag: string): McpTarget[] {
  return ex.backend.targets.filter((t) => {
    const state = ex.session.targets.get(t.name);
    return state === undefined || state.flags.includes(flag);
  });
}

function notFound(method: string, why: string): RpcError {
  return new RpcError(JsonRpcCode.MethodNotFound, `Method not found: ${method} (${why})`);
}

export async function taskRequest(ex: SessionExchange, message: JsonRpcRequest): Promise<Response> {
  const { method, id, params } = message;
  if (offering(ex, 'k').length === 0) throw notFound(method, 'no target of this backend supports tasks');
  if (method === 'tasks/list') {
    if (offering(ex, 'j').length === 0) throw notFound(method, 'no target of this backend lists tasks');
    return rpcResponse(resultResponse(id, await mergedList(ex, TASKS_LIST, id, params)));
  }
  const taskId = params?.taskId;
  if (typeof taskId !== 'string') throw invalidParams(`${method}: params.taskId must be a string`);
  const split = splitUri(taskId);
  const target = split && ex.backend.targets.find((t) => t.name === split.target);
  if (!split || !target) {
    const names = ex.backend.targets.map((t) => t.name).join(', ');
    throw invalidParams(`Unknown task "${taskId}": task ids are <target>+<id> and the targets are ${names}`);
  }
  const state = await ensureTarget(ex, target, ex.signal);
  if (!state.flags.includes('k')) {
    throw invalidParams(`Unknown task "${taskId}": target "${target.name}" does not support tasks`);
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, taskId: split.name } });
  return forward(ex, target, state, method, body, id, taskRewrite(ex, target.name, message));
}

/** tasks/get and tasks/cancel answer with the task itself: its id back to the client's form. */
function taskRewrite(ex: SessionExchange, target: string, message: JsonRpcRequest): Rewrite {
  const base = outbound(ex, target);
  if (message.method === 'tasks/result') return base;
  return (m) => {
    const out = asObject(base(m));
    const result = asObject(out?.result);
    if (!out || !result || out.id !== message.id || typeof result.taskId !== 'string') return out ?? m;
    return { ...out, result: { ...result, taskId: prefixUri(target, result.taskId) } };
  };
}
