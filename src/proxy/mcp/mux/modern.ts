/**
 * A 2026-07-28 request (issue 12), after service.ts checked its headers against its body. The
 * client has no session: the gateway answers `server/discover` itself, refuses the methods the
 * revision removed, and runs everything else through the same multiplexer as a legacy session —
 * in a view of the session the gateway owns for the route, backend and identity (OwnedSessions),
 * which holds the upstream sessions of legacy targets; modern targets are stateless hops.
 *
 * Upstream, the request carries a gateway-made id (modern clients' ids repeat, and a shared
 * upstream session routes answers by id) and no 2026 `_meta` toward a legacy target; each modern
 * hop gets the client's `_meta` with its own version (hop/upstream-call.ts). Downstream, every
 * answer gets the client's id back and `resultType`; lists and reads get `ttlMs` / `cacheScope`.
 */
import {
  type Context,
  type ParkedUpstream,
  type ServerRequestHook,
  type SessionContext,
  withSession,
} from '../hop/context.js';
import { resumeParked } from '../hop/forward.js';
import { answered, type Outcome } from '../hop/outcome.js';
import { outboundFor } from '../hop/session-rewrite.js';
import { ensureTarget } from '../hop/targets.js';
import { post } from '../hop/upstream-call.js';
import { mergedCapabilities } from '../rewrite/merge.js';
import type { Rewrite } from '../rewrite/outbound.js';
import { keptClientParams } from '../session/client-params.js';
import type { KeyRing } from '../session/key-ring.js';
import { openRequestState, type RequestCall, sealRequestState } from '../session/request-state.js';
import { Session } from '../session/session.js';
import { spliceAnswer } from '../wire/answer-splice.js';
import {
  META_CAPABILITIES,
  META_CLIENT_INFO,
  META_SERVER_INFO,
  META_VERSION,
  MODERN_VERSIONS,
  NAMED_ITEM,
  REMOVED_METHODS,
} from '../wire/era.js';
import { errorResponse, JsonRpcCode, RpcError, rpcErrorReply } from '../wire/errors.js';
import {
  asObject,
  type JsonObject,
  type JsonRpcId,
  type JsonRpcRequest,
  resultResponse,
} from '../wire/jsonrpc.js';
import { GATEWAY_NAME, GATEWAY_VERSION } from '../wire/protocol-version.js';
import { accepted, type Reply } from '../wire/reply.js';
import { dispatchRequest } from './dispatch.js';
import { fanOut } from './fanout.js';
import type { Listeners } from './listen.js';

const SERVER_INFO = { name: GATEWAY_NAME, version: GATEWAY_VERSION } as const;

/** Results that say how long they may be cached (SEP-2549). */
const CACHEABLE: ReadonlySet<string> = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
]);

let upstreamIds = 0;

/** What the modern path needs beyond the request's context. */
export interface ModernDeps {
  /** Seals requestState envelopes (the session key ring). */
  readonly keyRing: KeyRing;
  /** Open subscriptions/listen streams. */
  readonly listeners: Listeners;
}

/** A 2026-07-28 notification: nothing in the revision needs one from the client; accepted. */
export const modernNotification = (): Outcome => ({ reply: accepted() });

/** A 2026-07-28 request; `owner` is the gateway-owned session for the request's route and identity. */
export function serveModern(
  cx: Context,
  owner: Session,
  message: JsonRpcRequest,
  { keyRing, listeners }: ModernDeps,
): Outcome | Promise<Outcome> {
  const { method, id } = message;
  if (REMOVED_METHODS.has(method)) {
    return modernError(404, JsonRpcCode.MethodNotFound, `Method not found: 2026-07-28 has no ${method}`, id);
  }
  const meta = asObject(message.params?._meta) ?? {};
  const capabilities = asObject(meta[META_CAPABILITIES]);
  if (!capabilities) {
    return modernError(
      400,
      JsonRpcCode.InvalidParams,
      `Invalid params: _meta["${META_CAPABILITIES}"] is required on every 2026-07-28 request`,
      id,
    );
  }
  // Made only when a hop needs them (a 2026 target's _meta): a 2025 target's session is the owner's.
  const clientParams = () =>
    keptClientParams({ capabilities, clientInfo: meta[META_CLIENT_INFO] }, String(meta[META_VERSION]));
  const view = Session.view(owner, clientParams);
  if (method === 'server/discover') return discover(withSession(cx, view), id);
  if (method === 'subscriptions/listen') return listeners.open(cx, id, message.params);
  // Upstream: a gateway-made id, and no 2026 envelope (a modern hop puts its own back).
  upstreamIds = (upstreamIds + 1) % Number.MAX_SAFE_INTEGER;
  const hopId = `mcplane-${upstreamIds}`;
  const params = upstreamParams(message.params, meta);
  const call = roundTripCall(cx, method, params);
  const seal = call ? (state: string) => sealRequestState(keyRing, call, state) : undefined;
  if (call && typeof params.requestState === 'string') {
    const state = openRequestState(keyRing, call, params.requestState);
    if (state === undefined || !(state.startsWith(PARKED) || state.startsWith(TARGET_STATE))) {
      return modernError(
        400,
        JsonRpcCode.InvalidParams,
        'Invalid params: requestState was not issued by this gateway for this call, was altered, or expired; call again without it',
        id,
      );
    }
    if (state.startsWith(PARKED))
      return resume(withSession(cx, view), state.slice(PARKED.length), message, params, capabilities, seal!);
    // Anything else is a target's own state (TARGET_STATE), given back exactly as it issued it.
    params.requestState = state.slice(TARGET_STATE.length);
  }
  const upstream: JsonRpcRequest = { jsonrpc: '2.0', id: hopId, method, params };
  const toClient = forClient(hopId, id, method, seal);
  const serverRequests = serverRequestHook(cx, view, capabilities, id, hopId, seal);
  const sx = withSession(cx, view, { toClient, serverRequests });
  // No bytes: the hop serialises the message only if it forwards it as it is (one target).
  return dispatchRequest(sx, upstream, undefined).then((outcome) => ({
    reply: finalReply(outcome.reply, toClient),
    target: outcome.target,
    rpcError: outcome.rpcError,
  }));
}

/**
 * The params a target gets: the client's, with `_meta` less the 2026 envelope (a modern hop puts
 * its own back). Copied key by key (object rest with computed keys takes V8's slow path, per call);
 * a `__proto__` key is left out, as assigning it would set the copy's prototype.
 */
function upstreamParams(sent: JsonObject | undefined, meta: JsonObject): JsonObject {
  const params: JsonObject = {};
  for (const key in sent) if (key !== '_meta' && key !== '__proto__') params[key] = sent[key];
  let rest: JsonObject | undefined;
  for (const key in meta) {
    if (key === META_VERSION || key === META_CAPABILITIES || key === META_CLIENT_INFO) continue;
    if (key === '__proto__') continue;
    rest ??= {};
    rest[key] = meta[key];
  }
  if (rest) params._meta = rest;
  return params;
}

/** The inner requestState of a call mcplane parked (a 2025 target's request to the client). */
const PARKED = 'mcplane-parked:';
/** The inner requestState of a target's own state: marked, so no target can pass for a parked call. */
const TARGET_STATE = 'target:';

/** What a 2025 target may ask a client, and the capability the client must have declared for it. */
const CLIENT_METHODS: ReadonlyMap<string, string> = new Map([
  ['elicitation/create', 'elicitation'],
  ['sampling/createMessage', 'sampling'],
  ['roots/list', 'roots'],
]);

/**
 * A 2025 target's request to the client during a 2026-07-28 client's call: the call is parked and
 * the client gets `input_required` carrying the request, with a requestState that names the parked
 * call. A request the client did not declare it can answer (or one outside tools/call, prompts/get
 * and resources/read) is refused upstream, and the call goes on.
 */
function serverRequestHook(
  cx: Context,
  session: Session,
  capabilities: JsonObject,
  clientId: JsonRpcId,
  hopId: JsonRpcId,
  seal: ((state: string) => string) | undefined,
): ServerRequestHook {
  return (request, upstream) => {
    // Made here: most calls never see a target's request.
    const sx = withSession(cx, session);
    const method = String(request.method);
    const id = request.id as JsonRpcId;
    if (method === 'ping') {
      answerTarget(sx, upstream, id, { result: {} });
      return { kind: 'answered' };
    }
    const needs = CLIENT_METHODS.get(method);
    if (!seal || needs === undefined || !Object.hasOwn(capabilities, needs)) {
      const message = `the client cannot answer ${method.slice(0, 100)} here (it did not declare it, or 2026-07-28 allows input requests only in tools/call, prompts/get and resources/read)`;
      answerTarget(sx, upstream, id, { error: { code: JsonRpcCode.MethodNotFound, message } });
      return { kind: 'answered' };
    }
    const key = `${upstream.target.name}-${String(id).slice(0, 100)}`;
    const handle = sx.deps.parked.park({
      ...upstream,
      backend: sx.backend.id,
      hopId,
      pending: new Map([[key, id]]),
    });
    const inputRequests = { [key]: { method, params: asObject(request.params) ?? {} } };
    const result = { resultType: 'input_required', inputRequests, requestState: seal(PARKED + handle) };
    return { kind: 'ends', message: { jsonrpc: '2.0', id: clientId, result } };
  };
}

/** Answer a target's request to the client on the session the call runs in. */
function answerTarget(sx: SessionContext, call: ParkedUpstream, id: JsonRpcId, answer: JsonObject): void {
  const body = JSON.stringify({ jsonrpc: '2.0', id, ...answer });
  post(sx, call.target, call.state, 'response', body, undefined).catch(() => {});
}

/** A retry of a parked call: its inputResponses go upstream, then the call's stream goes on here. */
function resume(
  sx: SessionContext,
  handle: string,
  message: JsonRpcRequest,
  params: JsonObject,
  capabilities: JsonObject,
  seal: (state: string) => string,
): Outcome {
  const call = sx.deps.parked.take(handle, sx.backend.id);
  if (!call) {
    return modernError(
      400,
      JsonRpcCode.InvalidParams,
      'Invalid params: the call this requestState continues is no longer waiting (it expired, or another replica holds it); call again without requestState',
      message.id,
    );
  }
  const responses = asObject(params.inputResponses) ?? {};
  for (const [key, requestId] of call.pending) {
    const response = asObject(responses[key]);
    answerTarget(
      sx,
      call,
      requestId,
      response
        ? { result: response }
        : {
            error: {
              code: JsonRpcCode.InvalidParams,
              message: `the client sent no input response for ${key}`,
            },
          },
    );
  }
  const toClient = forClient(call.hopId, message.id, message.method, seal);
  const serverRequests = serverRequestHook(sx, sx.session, capabilities, message.id, call.hopId, seal);
  const cx = withSession(sx, sx.session, { toClient, serverRequests });
  return resumeParked(cx, call, call.hopId, outboundFor(cx, call.target.name));
}

/** The gateway's own `server/discover`: its versions and identity, the targets' capabilities merged. */
async function discover(sx: SessionContext, id: JsonRpcId): Promise<Outcome> {
  const { backend } = sx;
  let flags = '';
  try {
    const joined = await fanOut(sx, backend.targets, (target, signal) => ensureTarget(sx, target, signal));
    for (const { value } of joined) flags += value.flags;
  } catch (error) {
    if (error instanceof RpcError) return answered(errorResponse(id, error.code, error.message));
    throw error;
  }
  return answered(
    resultResponse(id, {
      supportedVersions: [...MODERN_VERSIONS],
      capabilities: mergedCapabilities(flags, false),
      // What the targets offer may change with the routing table: not cached.
      ttlMs: 0,
      cacheScope: 'private',
      resultType: 'complete',
      _meta: { [META_SERVER_INFO]: SERVER_INFO },
    }),
  );
}

/** Every message the client gets for this request: its own id on the answer, `resultType` on results. */
function forClient(
  hopId: JsonRpcId,
  clientId: JsonRpcId,
  method: string,
  seal: ((state: string) => string) | undefined,
): Rewrite {
  const cacheable = CACHEABLE.has(method);
  const rewrite: Rewrite = (message) => {
    const m = asObject(message);
    if (!m || m.id !== hopId || m.method !== undefined) return message;
    const result = asObject(m.result);
    if (!result) return { ...m, id: clientId };
    const out: JsonObject = { ...result };
    out.resultType ??= 'complete';
    if (out.resultType === 'input_required' && typeof out.requestState === 'string') {
      // Never cached (SEP-2549), and the state goes out in the gateway's envelope.
      if (seal) out.requestState = seal(TARGET_STATE + out.requestState);
      else delete out.requestState;
    }
    if (cacheable) {
      // A legacy target (or a merged list) says nothing about caching: not cached, not shared.
      out.ttlMs ??= 0;
      out.cacheScope ??= 'private';
    }
    return { ...m, id: clientId, result: out };
  };
  // A target's whole JSON answer on the single-target path: spliced as bytes where it can be.
  const bytes = (body: Uint8Array) => spliceAnswer(body, String(hopId), clientId, cacheable);
  return Object.assign(rewrite, { bytes });
}

function roundTripCall(cx: Context, method: string, params: JsonObject): RequestCall | undefined {
  const field = NAMED_ITEM.get(method);
  const name = field === undefined ? undefined : params[field];
  if (typeof name !== 'string') return undefined;
  return { backend: cx.backend.id, principal: cx.access.principal, method, name };
}

/** A JSON answer the gateway made (a merged list, an error) goes through the same rewrite. */
function finalReply(reply: Reply, toClient: Rewrite): Reply {
  if (reply.kind !== 'json') return reply;
  const body = toClient(reply.body);
  // 2026-07-28 answers an unknown method 404 (no session a 404 could be mistaken for).
  const notFound = asObject(asObject(body)?.error)?.code === JsonRpcCode.MethodNotFound;
  return { ...reply, body, ...(notFound ? { status: 404 } : {}) };
}

function modernError(status: number, code: number, message: string, id: JsonRpcId): Outcome {
  return { reply: rpcErrorReply(status, code, message, id), rpcError: code };
}
