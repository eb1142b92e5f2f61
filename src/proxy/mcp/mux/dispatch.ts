/**
 * Route one client request. Transparent backends (one target, not forced to prefix) forward the
 * client's bytes as they are; multiplexed backends fan out lists and route calls to the owning
 * target with the name or URI rewritten back, and the reply's URIs and server-request ids rewritten.
 */
import type { McpTarget } from '../../../shared/table.js';
import { UpstreamError } from '../../upstream/errors.js';
import type { Item, SessionContext } from '../hop/context.js';
import { answered, limited, type Outcome, upstreamFailure } from '../hop/outcome.js';
import { outboundFor } from '../hop/session-rewrite.js';
import { countedCall, forwardCounted } from '../hop/target-calls.js';
import { ensureTarget, isPinValid } from '../hop/targets.js';
import { awaitResponse, post } from '../hop/upstream-call.js';
import { LIST_SPECS, prefixContents } from '../rewrite/merge.js';
import { isTransparent, shouldPrefix, splitName, splitUri } from '../rewrite/naming.js';
import type { Rewrite } from '../rewrite/outbound.js';
import { isModernVersion } from '../wire/era.js';
import { errorResponse, invalidParams, JsonRpcCode, RpcError } from '../wire/errors.js';
import { asObject, type JsonObject, type JsonRpcRequest, resultResponse } from '../wire/jsonrpc.js';
import { LimitError, RateLimitError } from '../wire/limits.js';
import { fanOut } from './fanout.js';
import { mergedList, readToolsPage, resolveOwner } from './lists.js';
import { isKeptSubscription, keepSubscription } from './subscribe.js';
import { taskRequest } from './tasks.js';

export async function dispatchRequest(
  cx: SessionContext,
  message: JsonRpcRequest,
  /** The message as the client sent it; absent when the gateway made it (serialised only if forwarded as is). */
  raw: string | undefined,
): Promise<Outcome> {
  const { method, id } = message;
  if (method === 'ping') return answered(resultResponse(id, {}));
  const { backend } = cx;
  try {
    const { access } = cx;
    // Requests about one item are limited once the item is known (checkItem); the rest here.
    if (access.inspects && !ITEM_METHODS.has(method)) {
      const limited = checkLimit(cx, method);
      if (limited) await limited;
    }
    // One target is passed through, unless its lists must be filtered for this caller.
    const filtered = access.filtersLists && LIST_SPECS.has(method);
    // logging/setLevel is the gateway's to keep too: 2026 targets take the level per request.
    if (
      !filtered &&
      method !== 'logging/setLevel' &&
      isTransparent(backend.prefixMode, backend.targets.length)
    ) {
      const target = backend.targets[0]!;
      if (access.inspects && ITEM_METHODS.has(method)) {
        const checked = checkPassedThrough(cx, target.name, message);
        if (checked) await checked;
      }
      const state = cx.session.targets.get(target.name);
      // The usual case needs no await: the session already talks to its one target.
      // A modern client's answer is rewritten (its id, resultType); a legacy client's passes as bytes.
      const { toClient } = cx;
      const joined = state && isPinValid(target, state) ? state : await ensureTarget(cx, target, cx.signal);
      if (
        method === 'tools/list' &&
        cx.deps.metrics.toolLabels.due(backend.id, target.name, performance.now())
      )
        return answered(resultResponse(id, await readToolsPage(cx, target, id, message.params)), target.name);
      if (isKeptSubscription(method, joined))
        return keepSubscription(cx, target, joined, method, message.params?.uri, id);
      return forwardCounted(cx, target, joined, method, raw ?? JSON.stringify(message), id, toClient);
    }
    return await multiplexed(cx, message);
  } catch (error) {
    // Before RpcError: a bound answers with its own status (429) and Retry-After.
    if (error instanceof LimitError || error instanceof RateLimitError) return limited(error, id);
    if (error instanceof RpcError) return answered(errorResponse(id, error.code, error.message, error.data));
    if (error instanceof UpstreamError) return upstreamFailure(error, id);
    throw error;
  }
}

/** Methods that name one tool, prompt or resource: authorized and limited per item. */
const ITEM_METHODS: ReadonlySet<string> = new Set([
  'tools/call',
  'prompts/get',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
]);

/** Synchronous when the limits are (local buckets): a promise only for limits counted in Redis. */
function checkLimit(cx: SessionContext, method: string, item?: Item): Promise<void> | undefined {
  const refused = cx.access.limit(method, item);
  if (refused instanceof Promise) {
    return refused.then((r) => {
      if (r) throw new RateLimitError(r.retryAfterMs, r.policy);
    });
  }
  if (refused) throw new RateLimitError(refused.retryAfterMs, refused.policy);
  return undefined;
}

/**
 * The caller may not use this item: answered exactly as a name no target serves, so a policy does
 * not reveal what exists. Then the request's rate limits, which know the item now.
 */
function checkItem(cx: SessionContext, method: string, item: Item, shown: string): Promise<void> | undefined {
  if (!cx.access.allows(item, 'call')) {
    const what = item.kind === 'resource' ? 'resource' : item.kind;
    throw invalidParams(`Unknown ${what}: ${shown.slice(0, 200)}`);
  }
  return checkLimit(cx, method, item);
}

/** The tool or prompt a `tools/call` / `prompts/get` names (a tool call's arguments go with it). */
function namedItem(method: string, target: string, name: string, params: JsonObject | undefined): Item {
  return method === 'tools/call'
    ? { kind: 'tool', target, name, args: params?.arguments ?? {} }
    : { kind: 'prompt', target, name };
}

/** A call on the pass-through path: the item by the names the client sent (the upstream's own). */
function checkPassedThrough(
  cx: SessionContext,
  target: string,
  message: JsonRpcRequest,
): Promise<void> | undefined {
  const { method, params } = message;
  if (method === 'tools/call' || method === 'prompts/get') {
    const name = params?.name;
    if (typeof name !== 'string') return undefined; // the upstream answers a malformed call itself
    return checkItem(cx, method, namedItem(method, target, name, params), name);
  }
  if (method === 'completion/complete') {
    const ref = asObject(params?.ref);
    if (ref?.type === 'ref/prompt' && typeof ref.name === 'string')
      return checkItem(cx, method, { kind: 'prompt', target, name: ref.name }, ref.name);
    if (ref?.type === 'ref/resource' && typeof ref.uri === 'string')
      return checkItem(cx, method, { kind: 'resource', target, name: ref.uri }, ref.uri);
    return undefined;
  }
  const uri = params?.uri;
  if (typeof uri === 'string') return checkItem(cx, method, { kind: 'resource', target, name: uri }, uri);
  return undefined;
}

async function multiplexed(cx: SessionContext, message: JsonRpcRequest): Promise<Outcome> {
  const { method, id, params } = message;
  const spec = LIST_SPECS.get(method);
  if (spec) return answered(resultResponse(id, await mergedList(cx, spec, id, params)));
  switch (method) {
    case 'tools/call':
      return byName(cx, message, 'tools/list', 'tool');
    case 'prompts/get':
      return byName(cx, message, 'prompts/list', 'prompt');
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
      return byUri(cx, message);
    case 'completion/complete':
      return completion(cx, message);
    case 'tasks/list':
    case 'tasks/get':
    case 'tasks/result':
    case 'tasks/cancel':
      return taskRequest(cx, message);
    case 'logging/setLevel':
      return setLevel(cx, message);
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
async function setLevel(cx: SessionContext, message: JsonRpcRequest): Promise<Outcome> {
  const { _meta, ...params } = message.params ?? {};
  if (typeof params.level !== 'string' || !LOG_LEVELS.has(params.level)) {
    throw invalidParams(`logging/setLevel: params.level must be one of ${[...LOG_LEVELS].join(', ')}`);
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id: message.id, method: message.method, params });
  // 2026-07-28 targets have no logging/setLevel: their level travels in each request's _meta.
  cx.session.logLevel = params.level;
  const legacy = withFlag(cx, 'l').filter(
    (t) => !isModernVersion(cx.session.targets.get(t.name)?.protocolVersion ?? null),
  );
  await fanOut(cx, legacy, async (target, signal) => {
    const state = await ensureTarget(cx, target, signal);
    const response = await countedCall(cx, target.name, async () => {
      const reply = await post(cx, target, state, message.method, body, signal);
      return awaitResponse(reply, target.name);
    });
    if (response.error) {
      const reason = response.error.message;
      throw new UpstreamError(
        target.name,
        'protocol',
        `target "${target.name}" refused logging/setLevel: ${reason}`,
      );
    }
  });
  return answered(resultResponse(message.id, {}));
}

function withFlag(cx: SessionContext, flag: string): McpTarget[] {
  return cx.backend.targets.filter((t) => {
    const state = cx.session.targets.get(t.name);
    return state === undefined || state.flags.includes(flag);
  });
}

function findTarget(cx: SessionContext, name: string): McpTarget | undefined {
  return cx.backend.targets.find((t) => t.name === name);
}

async function send(
  cx: SessionContext,
  target: McpTarget,
  message: JsonRpcRequest,
  params: JsonObject,
  rewrite: Rewrite,
) {
  const state = await ensureTarget(cx, target, cx.signal);
  const body = JSON.stringify({ jsonrpc: '2.0', id: message.id, method: message.method, params });
  return forwardCounted(cx, target, state, message.method, body, message.id, rewrite);
}

/** `<target>_<name>` (or an owner lookup when names are not prefixed). */
async function resolveName(cx: SessionContext, listMethod: string, kind: string, name: string) {
  const { backend } = cx;
  if (shouldPrefix(backend.prefixMode, backend.targets.length)) {
    const split = splitName(name);
    const target = split ? findTarget(cx, split.target) : undefined;
    if (!split || !target) {
      const names = backend.targets.map((t) => t.name).join(', ');
      throw invalidParams(
        `Unknown ${kind} "${name}": ${kind}s are named <target>_<${kind}> and the targets are ${names}`,
      );
    }
    return { target, name: split.name };
  }
  const owner = await resolveOwner(cx, LIST_SPECS.get(listMethod)!, name);
  const target = owner === undefined ? undefined : findTarget(cx, owner);
  if (!target) throw invalidParams(`Unknown ${kind} "${name}" (or it is served by several targets)`);
  return { target, name };
}

function resolveUri(cx: SessionContext, uri: string) {
  const { backend } = cx;
  if (shouldPrefix(backend.prefixMode, backend.targets.length)) {
    const split = splitUri(uri);
    const target = split ? findTarget(cx, split.target) : undefined;
    if (!split || !target) {
      const names = backend.targets.map((t) => t.name).join(', ');
      throw invalidParams(`Unknown resource "${uri}": URIs are <target>+<uri> and the targets are ${names}`);
    }
    return { target, uri: split.name };
  }
  const owner = cx.session.owners.get('resources/list')?.get(uri);
  const target = owner !== undefined ? findTarget(cx, owner) : single(cx, 'r');
  if (!target)
    throw invalidParams(
      `Unknown resource "${uri}" (list resources first, or it is served by several targets)`,
    );
  return { target, uri };
}

/** The one target offering a capability, if exactly one does. */
function single(cx: SessionContext, flag: string): McpTarget | undefined {
  const offering = withFlag(cx, flag);
  return offering.length === 1 ? offering[0] : undefined;
}

async function byName(cx: SessionContext, message: JsonRpcRequest, listMethod: string, kind: string) {
  const name = message.params?.name;
  if (typeof name !== 'string') throw invalidParams(`${message.method}: params.name must be a string`);
  const resolved = await resolveName(cx, listMethod, kind, name);
  const item = namedItem(message.method, resolved.target.name, resolved.name, message.params);
  await checkItem(cx, message.method, item, name);
  const params = { ...message.params, name: resolved.name };
  return send(cx, resolved.target, message, params, outboundFor(cx, resolved.target.name));
}

async function byUri(cx: SessionContext, message: JsonRpcRequest) {
  const uri = message.params?.uri;
  if (typeof uri !== 'string') throw invalidParams(`${message.method}: params.uri must be a string`);
  const resolved = resolveUri(cx, uri);
  await checkItem(
    cx,
    message.method,
    { kind: 'resource', target: resolved.target.name, name: resolved.uri },
    uri,
  );
  const params = { ...message.params, uri: resolved.uri };
  const base = outboundFor(cx, resolved.target.name);
  const prefixed = shouldPrefix(cx.backend.prefixMode, cx.backend.targets.length);
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
  if (message.method !== 'resources/read') {
    const state = await ensureTarget(cx, resolved.target, cx.signal);
    if (isKeptSubscription(message.method, state))
      return keepSubscription(cx, resolved.target, state, message.method, resolved.uri, message.id);
  }
  return send(cx, resolved.target, message, params, rewrite);
}

async function completion(cx: SessionContext, message: JsonRpcRequest) {
  const ref = asObject(message.params?.ref);
  if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
    const resolved = await resolveName(cx, 'prompts/list', 'prompt', ref.name);
    const item: Item = { kind: 'prompt', target: resolved.target.name, name: resolved.name };
    await checkItem(cx, message.method, item, ref.name);
    const params = { ...message.params, ref: { ...ref, name: resolved.name } };
    return send(cx, resolved.target, message, params, outboundFor(cx, resolved.target.name));
  }
  if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
    const resolved = resolveUri(cx, ref.uri);
    const item: Item = { kind: 'resource', target: resolved.target.name, name: resolved.uri };
    await checkItem(cx, message.method, item, ref.uri);
    const params = { ...message.params, ref: { ...ref, uri: resolved.uri } };
    return send(cx, resolved.target, message, params, outboundFor(cx, resolved.target.name));
  }
  throw invalidParams(
    'completion/complete: params.ref must be a ref/prompt with a name or a ref/resource with a uri',
  );
}
