/**
 * Server→client traffic through a multiplexed backend. A server request (sampling, elicitation,
 * roots/list, ping) gets an id that names its target, so the client's reply can be routed back;
 * resource URIs in `notifications/resources/updated` get the target prefix.
 */

import { prefixResultUris } from './content-uris.js';
import type { SessionExchange } from './context.js';
import { asObject, type JsonObject, type JsonRpcId } from './jsonrpc.js';
import { prefixUri, shouldPrefix } from './naming.js';

const ID_PREFIX = 'mcplane/';

export function serverRequestId(target: string, id: JsonRpcId): string {
  return `${ID_PREFIX}${target}/${typeof id === 'number' ? 'n' : 's'}/${id}`;
}

/** The target and original id of a rewritten server request id. */
export function parseServerRequestId(id: unknown): { target: string; id: JsonRpcId } | undefined {
  if (typeof id !== 'string' || !id.startsWith(ID_PREFIX)) return undefined;
  const slash = id.indexOf('/', ID_PREFIX.length);
  if (slash <= ID_PREFIX.length) return undefined;
  const kind = id.slice(slash + 1, slash + 2);
  const original = id.slice(slash + 3);
  if (id[slash + 2] !== '/' || (kind !== 'n' && kind !== 's')) return undefined;
  const value = kind === 'n' ? Number(original) : original;
  if (kind === 'n' && !Number.isFinite(value)) return undefined;
  return { target: id.slice(ID_PREFIX.length, slash), id: value };
}

/**
 * The rewrite for messages a target sends on a multiplexed stream: server request ids name their
 * target; resource URIs get the target prefix (when names are prefixed); task ids always do (they
 * are opaque, and routing tasks/get by owner would need a list first); log lines name their target.
 * Every message a target sends the session passes here, so this is also where a target's
 * list_changed drops the session's kept answers to that list.
 */
export function outbound(ex: SessionExchange, target: string): (message: unknown) => unknown {
  const prefix = shouldPrefix(ex.backend.prefixMode, ex.backend.targets.length);
  return (message) => {
    const m = asObject(message);
    if (!m) return message;
    if (typeof m.method !== 'string') {
      if (m.result === undefined) return message;
      const withTask = taskResult(m, target) as JsonObject;
      const result = asObject(withTask.result);
      if (!prefix || !result) return withTask;
      const prefixed = prefixResultUris(result, target);
      return prefixed === result ? withTask : { ...withTask, result: prefixed };
    }
    const params = asObject(m.params);
    if (m.id !== undefined) {
      const id = serverRequestId(target, m.id as JsonRpcId);
      return { ...m, id, ...(params ? { params: relatedTask(params, target) } : {}) };
    }
    ex.session.events.heard(target, m);
    if (!params) return message;
    switch (m.method) {
      case 'notifications/resources/updated':
        return prefix && typeof params.uri === 'string'
          ? { ...m, params: { ...params, uri: prefixUri(target, params.uri) } }
          : message;
      case 'notifications/message': {
        const logger = typeof params.logger === 'string' ? `${target}/${params.logger}` : target;
        return { ...m, params: { ...relatedTask(params, target), logger } };
      }
      case 'notifications/cancelled':
        // The target gave up on a request it sent: name it as the client knows it.
        return params.requestId === undefined
          ? message
          : {
              ...m,
              params: { ...params, requestId: serverRequestId(target, params.requestId as JsonRpcId) },
            };
      case 'notifications/tasks/status':
        return typeof params.taskId === 'string'
          ? { ...m, params: { ...params, taskId: prefixUri(target, params.taskId) } }
          : message;
      default:
        return params._meta === undefined ? message : { ...m, params: relatedTask(params, target) };
    }
  };
}

export const RELATED_TASK = 'io.modelcontextprotocol/related-task';

/** `_meta["io.modelcontextprotocol/related-task"].taskId` in the client's (prefixed) form. */
function relatedTask(holder: JsonObject, target: string): JsonObject {
  const meta = asObject(holder._meta);
  const related = asObject(meta?.[RELATED_TASK]);
  if (!meta || !related || typeof related.taskId !== 'string') return holder;
  const taskId = prefixUri(target, related.taskId);
  return { ...holder, _meta: { ...meta, [RELATED_TASK]: { ...related, taskId } } };
}

/** A response: a created task (`result.task`) or a task's result (`_meta` related-task). */
function taskResult(m: JsonObject, target: string): unknown {
  const result = asObject(m.result);
  if (!result) return m;
  const task = asObject(result.task);
  if (task && typeof task.taskId === 'string') {
    return { ...m, result: { ...result, task: { ...task, taskId: prefixUri(target, task.taskId) } } };
  }
  return result._meta === undefined ? m : { ...m, result: relatedTask(result, target) };
}
