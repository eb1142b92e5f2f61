/**
 * Route one client request. Transparent backends (one target, not forced to prefix) forward the
 * client's bytes as they are; multiplexed backends fan out lists and route calls to the owning
 * target with the name or URI rewritten back, and the reply's URIs and server-request ids rewritten.
 */
import { JsonRpcCode } from '../../shared/errors.js';
import type { McpTarget } from '../../shared/table.js';
import { UpstreamError } from '../upstream/errors.js';
import type { SessionExchange } from './context.js';
import { fanOut } from './fanout.js';
import { forward, type Rewrite, upstreamFailure } from './forward.js';
import { rpcResponse } from './http.js';
import {
  asObject,
  errorResponse,
  invalidParams,
  type JsonObject,
  type JsonRpcRequest,
  RpcError,
  resultResponse,
} from './jsonrpc.js';
import { mergedList, resolveOwner } from './lists.js';
import { LIST_SPECS, prefixContents } from './merge.js';
import { isTransparent, shouldPrefix, splitName, splitUri } from './naming.js';
import { outbound } from './server-requests.js';
import { ensureTarget, isPinValid } from './targets.js';
import { taskRequest } from './tasks.js';
import { awaitResponse, post } from './upstream-call.js';

export async function dispatchRequest(
  ex: SessionExchange,
  message: JsonRpcRequest,
  raw: string,
): Promise<Response> {
  const { method, id } = message;
  if (method === 'ping') return rpcResponse(resultResponse(id, {}));
  if (method === 'tools/call' || method === 'prompts/get') {
    const name = message.params?.name;
    if (typeof name === 'string') ex.name = name.length > 128 ? name.slice(0, 128) : name;
  }
  const { backend } = ex;
  try {
    if (isTransparent(backend.prefixMode, backend.targets.length)) {
      const target = backend.targets[0]!;
      const state = ex.session.targets.get(target.name);
      // The usual case needs no await: the session already talks to its one target.
      if (state && isPinValid(target, state)) return forward(ex, target, state, method, raw, id);
      return forward(ex, target, await ensureTarget(ex, target, ex.signal), method, raw, id);
    }
    return await multiplexed(ex, message);
  } catch (error) {
    if (error instanceof RpcError) {
      ex.rpcError = error.code;
      return rpcResponse(errorResponse(id, error.code, error.message, error.data));
    }
    if (error instanceof UpstreamError) {
      ex.rpcError = JsonRpcCode.UpstreamUnavailable;
      return upstreamFailure(error, id);
    }
    throw error;
  }
}

async function multiplexed(ex: SessionExchange, message: JsonRpcRequest): Promise<Response> {
  const { method, id, params } = message;
  const spec = LIST_SPECS[method];
  if (spec) return rpcResponse(resultResponse(id, await mergedList(ex, spec, id, params)));
  switch (method) {
    case 'tools/call':
      return byName(ex, message, 'tools/list', 'tool');
    case 'prompts/get':
      return byName(ex, message, 'prompts/list', 'prompt');
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
      return byUri(ex, message);
    case 'completion/complete':
      return completion(ex, message);
    case 'tasks/list':
    case 'tasks/get':
    case 'tasks/result':
    case 'tasks/cancel':
      return taskRequest(ex, message);
    case 'logging/setLevel':
      return setLevel(ex, message);
    default:
      throw new RpcError(JsonRpcCode.MethodNotFound, `Method not found: ${method.slice(0, 100)}`);
  }
}

/** RFC 5424 severities, as MCP names them. */
const LOG_LEVELS: ReadonlySet<string> = new Set([
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
]);

/**
 * Every target that logs gets the level. The client's `_meta` (a progress token) stays behind: one
 * merged answer has no single progress, and several targets reporting under one token would mix.
 */
async function setLevel(ex: SessionExchange, message: JsonRpcRequest): Promise<Response> {
  const { _meta, ...params } = message.params ?? {};
  if (typeof params.level !== 'string' || !LOG_LEVELS.has(params.level)) {
    throw invalidParams(`logging/setLevel: params.level must be one of ${[...LOG_LEVELS].join(', ')}`);
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id: message.id, method: message.method, params });
  await fanOut(ex, withFlag(ex, 'l'), async (target, signal) => {
    const state = await ensureTarget(ex, target, signal);
    const reply = await post(ex.deps, ex.backend.id, target, state, message.method, body, signal);
    const response = await awaitResponse(reply, target.name);
    if (response.error) {
      const reason = response.error.message;
      throw new UpstreamError(
        target.name,
        'protocol',
        `target "${target.name}" refused logging/setLevel: ${reason}`,
      );
    }
  });
  return rpcResponse(resultResponse(message.id, {}));
}

function withFlag(ex: SessionExchange, flag: string): McpTarget[] {
  return ex.backend.targets.filter((t) => {
    const state = ex.session.targets.get(t.name);
    return state === undefined || state.flags.includes(flag);
  });
}

function findTarget(ex: SessionExchange, name: string): McpTarget | undefined {
  return ex.backend.targets.find((t) => t.name === name);
}

async function send(
  ex: SessionExchange,
  target: McpTarget,
  message: JsonRpcRequest,
  params: JsonObject,
  rewrite: Rewrite,
) {
  const state = await ensureTarget(ex, target, ex.signal);
  const body = JSON.stringify({ jsonrpc: '2.0', id: message.id, method: message.method, params });
  return forward(ex, target, state, message.method, body, message.id, rewrite);
}

/** `<target>_<name>` (or an owner lookup when names are not prefixed). */
async function resolveName(ex: SessionExchange, listMethod: string, kind: string, name: string) {
  const { backend } = ex;
  if (shouldPrefix(backend.prefixMode, backend.targets.length)) {
    const split = splitName(name);
    const target = split ? findTarget(ex, split.target) : undefined;
    if (!split || !target) {
      const names = backend.targets.map((t) => t.name).join(', ');
      throw invalidParams(
        `Unknown ${kind} "${name}": ${kind}s are named <target>_<${kind}> and the targets are ${names}`,
      );
    }
    return { target, name: split.name };
  }
  const owner = await resolveOwner(ex, LIST_SPECS[listMethod]!, name);
  const target = owner === undefined ? undefined : findTarget(ex, owner);
  if (!target) throw invalidParams(`Unknown ${kind} "${name}" (or it is served by several targets)`);
  return { target, name };
}

function resolveUri(ex: SessionExchange, uri: string) {
  const { backend } = ex;
  if (shouldPrefix(backend.prefixMode, backend.targets.length)) {
    const split = splitUri(uri);
    const target = split ? findTarget(ex, split.target) : undefined;
    if (!split || !target) {
      const names = backend.targets.map((t) => t.name).join(', ');
      throw invalidParams(`Unknown resource "${uri}": URIs are <target>+<uri> and the targets are ${names}`);
    }
    return { target, uri: split.name };
  }
  const owner = ex.session.owners.get('resources/list')?.get(uri);
  const target = owner !== undefined ? findTarget(ex, owner) : single(ex, 'r');
  if (!target)
    throw invalidParams(
      `Unknown resource "${uri}" (list resources first, or it is served by several targets)`,
    );
  return { target, uri };
}

/** The one target offering a capability, if exactly one does. */
function single(ex: SessionExchange, flag: string): McpTarget | undefined {
  const offering = withFlag(ex, flag);
  return offering.length === 1 ? offering[0] : undefined;
}

async function byName(ex: SessionExchange, message: JsonRpcRequest, listMethod: string, kind: string) {
  const name = message.params?.name;
  if (typeof name !== 'string') throw invalidParams(`${message.method}: params.name must be a string`);
  const resolved = await resolveName(ex, listMethod, kind, name);
  const params = { ...message.params, name: resolved.name };
  return send(ex, resolved.target, message, params, outbound(ex, resolved.target.name));
}

async function byUri(ex: SessionExchange, message: JsonRpcRequest) {
  const uri = message.params?.uri;
  if (typeof uri !== 'string') throw invalidParams(`${message.method}: params.uri must be a string`);
  const resolved = resolveUri(ex, uri);
  const params = { ...message.params, uri: resolved.uri };
  const base = outbound(ex, resolved.target.name);
  const prefixed = shouldPrefix(ex.backend.prefixMode, ex.backend.targets.length);
  const rewrite: Rewrite =
    message.method === 'resources/read' && prefixed
      ? (m) => {
          const out = asObject(base(m));
          const result = asObject(out?.result);
          return out && result && out.id === message.id
            ? { ...out, result: prefixContents(result, resolved.target.name) }
            : out;
        }
      : base;
  return send(ex, resolved.target, message, params, rewrite);
}

async function completion(ex: SessionExchange, message: JsonRpcRequest) {
  const ref = asObject(message.params?.ref);
  if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
    const resolved = await resolveName(ex, 'prompts/list', 'prompt', ref.name);
    const params = { ...message.params, ref: { ...ref, name: resolved.name } };
    return send(ex, resolved.target, message, params, outbound(ex, resolved.target.name));
  }
  if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
    const resolved = resolveUri(ex, ref.uri);
    const params = { ...message.params, ref: { ...ref, uri: resolved.uri } };
    return send(ex, resolved.target, message, params, outbound(ex, resolved.target.name));
  }
  throw invalidParams(
    'completion/complete: params.ref must be a ref/prompt with a name or a ref/resource with a uri',
  );
}
