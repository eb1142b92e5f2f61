/**
 * Server→client request ids through a multiplexed backend: `mcplane/<target>/<n|s>/<id>` names the
 * target that sent the request (and whether its id was a number or a string), so the client's
 * reply can be routed back with the target's own id.
 */
import type { JsonRpcId } from '../wire/jsonrpc.js';

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
