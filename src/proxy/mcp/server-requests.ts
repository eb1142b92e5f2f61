/**
 * Server→client traffic through a multiplexed backend. A server request (sampling, elicitation,
 * roots/list, ping) gets an id that names its target, so the client's reply can be routed back;
 * resource URIs in `notifications/resources/updated` get the target prefix.
 */
import type { SessionExchange } from './context.js';
import { asObject, type JsonRpcId } from './jsonrpc.js';
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

/** The rewrite for messages a target sends on a multiplexed stream. */
export function outbound(ex: SessionExchange, target: string): (message: unknown) => unknown {
  const prefix = shouldPrefix(ex.backend.prefixMode, ex.backend.targets.length);
  return (message) => {
    const m = asObject(message);
    if (!m || typeof m.method !== 'string') return message;
    if (m.id !== undefined) return { ...m, id: serverRequestId(target, m.id as JsonRpcId) };
    if (prefix && m.method === 'notifications/resources/updated') {
      const params = asObject(m.params);
      if (params && typeof params.uri === 'string')
        return { ...m, params: { ...params, uri: prefixUri(target, params.uri) } };
    }
    return message;
  };
}
