/**
 * Upstream sessions per target: initialize a target (at session start, or lazily when the table
 * added it later), pin it to one endpoint, find a session's live state for a target, and end them.
 */

import { withDeadline } from '../../../shared/deadline.js';
import type { Endpoint, McpTarget } from '../../../shared/table.js';
import { toUpstreamError, UpstreamError } from '../../upstream/errors.js';
import type { UpstreamReply } from '../../upstream/transport.js';
import { capabilityFlags } from '../rewrite/merge.js';
import type { Session, TargetSession } from '../session/session.js';
import { isModernVersion, META_SERVER_INFO } from '../wire/era.js';
import { asObject, type JsonObject, type JsonRpcId } from '../wire/jsonrpc.js';
import { negotiateVersion } from '../wire/protocol-version.js';
import type { Context, SessionContext } from './context.js';
import { awaitResponse, post } from './upstream-call.js';
import { attachUpstreamStream } from './upstream-streams.js';

/** A target whose lazy initialize failed is not retried for this long (FailOpen would stall). */
const RETRY_FAILED_INIT_MS = 5_000;

let roundRobin = 0;

export function pickEndpoint(target: McpTarget): Endpoint {
  const endpoints = target.endpoints;
  if (endpoints.length === 0) return { address: target.host, port: target.port };
  roundRobin = (roundRobin + 1) % 1_000_000;
  return endpoints[roundRobin % endpoints.length]!;
}

/** Still usable: pinned to an endpoint the target still has. */
export function isPinValid(target: McpTarget, state: TargetSession): boolean {
  const pin = state.endpoint;
  if (target.endpoints.length === 0) return pin.address === target.host && pin.port === target.port;
  return target.endpoints.some((e) => e.address === pin.address && e.port === pin.port);
}

export interface TargetInitialized {
  readonly state: TargetSession;
  readonly result: JsonObject;
}

/** Send `initialize` to one target and read its answer. */
export async function initializeTarget(
  cx: Context,
  target: McpTarget,
  id: JsonRpcId,
  params: JsonObject,
  signal: AbortSignal,
  /** The era to try first on a dual-era target: the client's (a 2026 request's view: modern). */
  prefer: 'modern' | 'legacy' = 'legacy',
): Promise<TargetInitialized> {
  const endpoint = pickEndpoint(target);
  const { eras } = cx.deps;
  if (prefer === 'modern' || eras.refusesLegacy(target, endpoint)) {
    const era = await eras.of(cx, target, endpoint, signal);
    if (era.kind === 'modern') return discovered(target, endpoint, era.version, era.discover, params);
  }
  try {
    return await handshake(cx, target, endpoint, id, params, signal);
  } catch (error) {
    // A 2026-only server refuses the handshake (400 UnsupportedProtocolVersion, a JSON-RPC error, or
    // a result in its own revision): its own era then, if its server/discover says it has one.
    if (
      !(error instanceof UpstreamError) ||
      !(error.status === 400 || error.failure === 'protocol') ||
      eras.mode === 'legacy'
    )
      throw error;
    const era = await eras.of(cx, target, endpoint, signal);
    if (era.kind !== 'modern') throw error;
    eras.markRefusesLegacy(target, endpoint);
    return discovered(target, endpoint, era.version, era.discover, params);
  }
}

async function handshake(
  cx: Context,
  target: McpTarget,
  endpoint: Endpoint,
  id: JsonRpcId,
  params: JsonObject,
  signal: AbortSignal,
): Promise<TargetInitialized> {
  const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params });
  const hop = { endpoint, sessionId: undefined, protocolVersion: undefined };
  const reply = await post(cx, target, hop, 'initialize', body, signal);
  const response = await awaitResponse(reply, target.name);
  const result = response.result;
  // A version is a short date; a longer one could not be sealed into the session id either.
  if (
    response.error ||
    !result ||
    typeof result.protocolVersion !== 'string' ||
    result.protocolVersion.length > 64
  ) {
    const reason = response.error?.message ?? 'no protocolVersion (of at most 64 characters) in its result';
    throw new UpstreamError(target.name, 'protocol', `target "${target.name}" refused initialize: ${reason}`);
  }
  if (isModernVersion(result.protocolVersion))
    throw new UpstreamError(
      target.name,
      'protocol',
      `target "${target.name}" answered initialize in ${result.protocolVersion}, a revision without the handshake`,
    );
  const state: TargetSession = {
    name: target.name,
    sessionId: reply.sessionId,
    endpoint,
    protocolVersion: result.protocolVersion,
    flags: capabilityFlags(result.capabilities),
  };
  return { state, result };
}

/**
 * A 2026-07-28 target joins a session without a handshake: no upstream session, its capabilities
 * from `server/discover`, and an initialize-shaped result for the merge (or, on a transparent
 * backend, for the legacy client itself: the version it asked for when the gateway serves it).
 */
function discovered(
  target: McpTarget,
  endpoint: Endpoint,
  version: string,
  discover: JsonObject,
  params: JsonObject,
): TargetInitialized {
  const meta = asObject(discover._meta);
  const serverInfo = asObject(meta?.[META_SERVER_INFO]) ?? { name: target.name, version: '0' };
  const asked = typeof params.protocolVersion === 'string' ? params.protocolVersion : '';
  const result: JsonObject = {
    protocolVersion: negotiateVersion(asked),
    capabilities: asObject(discover.capabilities) ?? {},
    serverInfo,
    ...(typeof discover.instructions === 'string' ? { instructions: discover.instructions } : {}),
  };
  const state: TargetSession = {
    name: target.name,
    sessionId: undefined,
    endpoint,
    protocolVersion: version,
    flags: capabilityFlags(discover.capabilities),
  };
  return { state, result };
}

/** Tell a target the handshake is complete (what the client's own notification does at start). */
export async function sendInitialized(cx: Context, target: McpTarget, state: TargetSession): Promise<void> {
  const body = '{"jsonrpc":"2.0","method":"notifications/initialized"}';
  await post(cx, target, state, 'notifications/initialized', body, undefined).catch(() => {});
}

/** The session's state for a target, initializing it first when the session does not have it yet. */
export function ensureTarget(
  cx: SessionContext,
  target: McpTarget,
  signal: AbortSignal,
): Promise<TargetSession> {
  const { session } = cx;
  const state = session.targets.get(target.name);
  if (state && isPinValid(target, state)) return Promise.resolve(state);
  const failedAt = session.failedAt.get(target.name);
  if (failedAt !== undefined && performance.now() - failedAt < RETRY_FAILED_INIT_MS) {
    return Promise.reject(
      new UpstreamError(
        target.name,
        'unreachable',
        `target "${target.name}" is unavailable (its initialize failed moments ago)`,
      ),
    );
  }
  let starting = session.starting.get(target.name);
  if (!starting) {
    starting = lazyInitialize(cx, target, signal).finally(() => session.starting.delete(target.name));
    session.starting.set(target.name, starting);
  }
  return starting.then((started) => {
    if (started) return started;
    throw new UpstreamError(target.name, 'unreachable', `target "${target.name}" could not be initialized`);
  });
}

async function lazyInitialize(
  cx: SessionContext,
  target: McpTarget,
  signal: AbortSignal,
): Promise<TargetSession | undefined> {
  const { deps, session, backend } = cx;
  // Joining is a handshake like initialize: bounded by the fan-out deadline even for a tools/call.
  const deadline = withDeadline(signal, deps.fanoutTimeoutMs);
  try {
    // A modern request's view starts upstream sessions as its owner (the gateway), not as the client.
    const params = { ...(session.owner ?? session).clientParams, protocolVersion: session.protocolVersion };
    const id = `mcplane-init-${target.name}`;
    const prefer = session.owner ? 'modern' : 'legacy';
    const { state } = await initializeTarget(cx, target, id, params, deadline.signal, prefer);
    session.targets.set(target.name, state);
    session.failedAt.delete(target.name);
    await sendInitialized(cx, target, state);
    void attachUpstreamStream(cx, target, state);
    deps.logger.debug({ backend: backend.id, target: target.name }, 'target joined an open session');
    return state;
  } catch (error) {
    session.failedAt.set(target.name, performance.now());
    throw toUpstreamError(target.name, error, deadline.signal);
  } finally {
    deadline.clear();
  }
}

/**
 * Post to a target within the session; when the upstream forgot its session (it restarted and
 * answered 404), start a new one and try once more.
 */
export function postToTarget(
  cx: SessionContext,
  target: McpTarget,
  state: TargetSession,
  method: string,
  body: string,
  signal: AbortSignal,
  /** Forwarded unread (the transparent path): a large JSON reply may come back as a stream. */
  passThrough = false,
): Promise<UpstreamReply> {
  const send = (hop: TargetSession) => post(cx, target, hop, method, body, signal, passThrough);
  return send(state).catch(async (error: unknown) => {
    if (!(error instanceof UpstreamError) || error.failure !== 'session-expired') throw error;
    cx.session.targets.delete(target.name);
    return send(await ensureTarget(cx, target, signal));
  });
}

/** End the session's upstream sessions (the client's DELETE); failures are left to the targets. */
export async function terminateTargets(cx: Context, session: Session): Promise<void> {
  const { signal, clear } = withDeadline(cx.signal, cx.deps.fanoutTimeoutMs);
  await Promise.allSettled(
    cx.backend.targets.map((target) => {
      const state = session.targets.get(target.name);
      if (!state) return undefined;
      const credential = cx.access.upstreamCredential;
      return cx.deps.upstreams
        .for(target)
        .terminate({ target, signal, ...state, ...(credential ? { credential } : {}) });
    }),
  ).finally(clear);
}
