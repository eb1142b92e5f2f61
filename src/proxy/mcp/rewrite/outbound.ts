/**
 * Server→client traffic through a multiplexed backend: every message a target sends the session
 * (on a call's stream or on its event stream) is rewritten into the client's view of the backend.
 */
import { asObject, type JsonObject, type JsonRpcId } from '../wire/jsonrpc.js';
import { serverRequestId } from './ids.js';
import { prefixUri } from './naming.js';
import { prefixResultUris } from './uris.js';

/**
 * Rewrites one upstream message on its way to the client (must not throw). One that can also
 * rewrite a whole JSON answer as bytes has `bytes`, which returns the answer in parts (sent in one
 * write), or undefined for an answer it leaves to the parse.
 */
export type Rewrite = ((message: unknown) => unknown) & {
  readonly bytes?: (body: Uint8Array) => readonly Uint8Array[] | undefined;
};

/**
 * The rewrite for messages a target sends on a multiplexed stream: server request ids name their
 * target; resource URIs get the target prefix (when names are prefixed); task ids always do (they
 * are opaque, and routing tasks/get by owner would need a list first); log lines name their target.
 * `heard` sees every notification first: that is where a target's list_changed drops the session's
 * kept answers to that list.
 */
export function outbound(
  target: string,
  prefix: boolean,
  heard: (notification: JsonObject) => void,
): Rewrite {
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
    heard(m);
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
