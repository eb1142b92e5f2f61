/**
 * The MCP data plane for one process: serves MCP streamable HTTP for whatever McpBackend route
 * matching selected, holds sessions, and tells open sessions when their backend's targets change.
 */

import { withDeadline } from '../../shared/deadline.js';
import { JsonRpcCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import type { TableChange } from '../../shared/publisher.js';
import type { McpBackend, RoutingTable } from '../../shared/table.js';
import { child } from '../metric-children.js';
import { serveBatch } from './batch.js';
import type { Deps, Exchange, SessionExchange } from './context.js';
import { dispatchRequest } from './dispatch.js';
import { checkGetHeaders, checkPostHeaders, readBody, rpcErrorResponse, sessionNotFound } from './http.js';
import { initializeSession } from './initialize.js';
import { type Classified, classify, type JsonRpcRequest } from './jsonrpc.js';
import type { KeyRing } from './key-ring.js';
import { dispatchNotification, dispatchResponse } from './notify.js';
import { logRequest } from './request-log.js';
import type { Session } from './session.js';
import { SessionStore } from './session-store.js';
import { SseStream, sseResponse } from './sse-stream.js';
import { attachUpstreamStreams, streamsReady } from './upstream-streams.js';
import { Upstreams } from './upstreams.js';

export interface McpServiceOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Session sealing keys (KeyRing.fromSpec or KeyRing.random). */
  readonly keyRing: KeyRing;
  readonly sessionIdleTtlMs: number;
  readonly maxSessions: number;
  readonly maxBodyBytes: number;
  readonly fanoutTimeoutMs: number;
  readonly sseKeepAliveMs: number;
  /** Reuse a session's list answers while the target's event stream is open (default true). */
  readonly listCache?: boolean;
}

export interface McpRoute {
  readonly id: string;
  readonly routeName: string;
}

const LIST_CHANGED = ['tools', 'prompts', 'resources'] as const;
const KNOWN_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'tasks/list',
  'tasks/get',
  'tasks/result',
  'tasks/cancel',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
]);

const missingSession = () =>
  rpcErrorResponse(
    400,
    JsonRpcCode.InvalidRequest,
    'Bad Request: the Mcp-Session-Id header is required for every request except initialize',
  );

export class McpService {
  readonly #deps: Deps;
  readonly #store: SessionStore;
  readonly #keyRing: KeyRing;
  readonly #maxBodyBytes: number;
  #closing = false;
  #active = 0;
  #drained: (() => void) | undefined;

  constructor(options: McpServiceOptions) {
    this.#deps = {
      logger: options.logger,
      metrics: options.metrics,
      upstreams: new Upstreams(),
      fanoutTimeoutMs: options.fanoutTimeoutMs,
      sseKeepAliveMs: options.sseKeepAliveMs,
      listCache: options.listCache ?? true,
    };
    this.#keyRing = options.keyRing;
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#store = new SessionStore(
      options.keyRing,
      options.sessionIdleTtlMs,
      options.maxSessions,
      (session) => {
        session.close();
        options.metrics.sessionsActive.set(this.#store.size);
      },
    );
  }

  /** Serve one HTTP request that route matching sent to an MCP backend (any path). */
  async handle(
    request: Request,
    backend: McpBackend,
    route: McpRoute,
    signal: AbortSignal,
  ): Promise<Response> {
    const ex = this.#exchange(request, backend, route, signal);
    let response: Response;
    try {
      response = await this.#serve(request, ex);
    } catch (error) {
      this.#deps.logger.error({ err: error, backend: backend.id, route: route.id }, 'MCP request failed');
      ex.streamed = false;
      response = rpcErrorResponse(500, JsonRpcCode.InternalError, 'Internal error');
    }
    ex.status = response.status;
    if (!ex.streamed) ex.finish(response.status >= 500 ? 'error' : 'ok');
    return response;
  }

  #exchange(request: Request, backend: McpBackend, route: McpRoute, signal: AbortSignal): Exchange {
    const started = performance.now();
    const { metrics, logger } = this.#deps;
    let finished = false;
    this.#active += 1;
    const ex: Exchange = {
      deps: this.#deps,
      backend,
      signal,
      streamed: false,
      method: request.method,
      finish: (outcome) => {
        if (finished) return;
        finished = true;
        const elapsedMs = performance.now() - started;
        child(metrics.requests, route.id, backend.id, ex.method, outcome).inc();
        child(metrics.requestDuration, route.id, backend.id, ex.method, outcome).observe(elapsedMs / 1000);
        if (logger.isLevelEnabled('info')) logRequest(logger, route.id, ex, outcome, elapsedMs);
        this.#active -= 1;
        if (this.#active === 0) this.#drained?.();
      },
    };
    return ex;
  }

  #serve(request: Request, ex: Exchange): Promise<Response> | Response {
    switch (request.method) {
      case 'POST':
        return this.#post(request, ex);
      case 'GET':
        return this.#get(request, ex);
      case 'DELETE':
        return this.#delete(request, ex);
      default:
        return new Response(null, { status: 405, headers: { allow: 'GET, POST, DELETE' } });
    }
  }

  async #post(request: Request, ex: Exchange): Promise<Response> {
    const rejected = checkPostHeaders(request);
    if (rejected) return rejected;
    const body = await readBody(request, this.#maxBodyBytes);
    if ('response' in body) return body.response;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      return rpcErrorResponse(400, JsonRpcCode.ParseError, 'Parse error: the body is not valid JSON');
    }
    const { backend } = ex;
    if (backend.targets.length === 0) {
      const name = `${backend.namespace}/${backend.name}`;
      return rpcErrorResponse(
        503,
        JsonRpcCode.UpstreamUnavailable,
        `MCP backend ${name} has no targets to serve`,
      );
    }
    if (Array.isArray(parsed)) {
      const found = this.#session(request, backend);
      return found instanceof Response ? found : serveBatch(Object.assign(ex, { session: found }), parsed);
    }
    const classified = classify(parsed);
    if (typeof classified === 'string') {
      return rpcErrorResponse(400, JsonRpcCode.InvalidRequest, `Invalid Request: ${classified}`);
    }
    return this.#one(request, ex, classified, body.text);
  }

  #one(request: Request, ex: Exchange, classified: Classified, raw: string): Promise<Response> | Response {
    const { kind, message } = classified;
    ex.method =
      kind === 'response' ? 'response' : KNOWN_METHODS.has(message.method) ? message.method : 'other';
    if (kind === 'request' && message.method === 'initialize') {
      if (this.#closing) {
        return rpcErrorResponse(503, JsonRpcCode.InternalError, 'The gateway is shutting down', message.id);
      }
      return initializeSession(ex, this.#keyRing, this.#store, message);
    }
    const found = this.#session(request, ex.backend);
    if (found instanceof Response) return found;
    const sx: SessionExchange = Object.assign(ex, { session: found });
    if (kind === 'request') return this.#request(sx, message, raw);
    if (kind === 'notification') return dispatchNotification(sx, message, raw);
    return dispatchResponse(sx, message, raw);
  }

  /**
   * A request id the session still has in flight is refused: upstreams route replies by id, so a
   * duplicate would take over (and break) the first request's stream.
   */
  #request(sx: SessionExchange, message: JsonRpcRequest, raw: string): Promise<Response> | Response {
    const { id } = message;
    const ids = sx.session.requestIds;
    if (ids.has(id)) {
      return rpcErrorResponse(
        400,
        JsonRpcCode.InvalidRequest,
        `Invalid Request: request id ${JSON.stringify(id).slice(0, 100)} is already in flight in this session; use a new id`,
        id,
      );
    }
    ids.add(id);
    const finish = sx.finish;
    sx.finish = (outcome) => {
      ids.delete(id);
      finish(outcome);
    };
    const ready = streamsReady(sx);
    if (ready) return ready.then(() => dispatchRequest(sx, message, raw));
    return dispatchRequest(sx, message, raw);
  }

  #session(request: Request, backend: McpBackend): Session | Response {
    const token = request.headers.get('mcp-session-id');
    if (token === null || token === '') return missingSession();
    const size = this.#store.size;
    const found = this.#store.get(token, backend.id);
    // A session opened from its token (issued by another process, or evicted here) joins the map.
    if (this.#store.size !== size) this.#deps.metrics.sessionsActive.set(this.#store.size);
    if ('session' in found) return found.session;
    this.#deps.logger.debug({ backend: backend.id, reason: found.missing }, 'session not found');
    return sessionNotFound();
  }

  #get(request: Request, ex: Exchange): Response {
    const rejected = checkGetHeaders(request);
    if (rejected) return rejected;
    const session = this.#session(request, ex.backend);
    if (session instanceof Response) return session;
    if (this.#closing)
      return rpcErrorResponse(503, JsonRpcCode.InternalError, 'The gateway is shutting down');
    const { metrics } = this.#deps;
    const stream: SseStream = new SseStream(this.#deps.sseKeepAliveMs, () => {
      session.events.closed(stream);
      metrics.sseStreamsOpen.dec();
      ex.finish('ok');
    });
    metrics.sseStreamsOpen.inc();
    // One GET stream per session: a reconnecting client replaces its old (maybe half-dead) stream
    // and receives what targets sent meanwhile.
    session.events.open(stream);
    ex.streamed = true;
    void attachUpstreamStreams(Object.assign(ex, { session }));
    return sseResponse(stream.readable);
  }

  async #delete(request: Request, ex: Exchange): Promise<Response> {
    const session = this.#session(request, ex.backend);
    if (session instanceof Response) return session;
    this.#store.delete(session);
    const { signal, clear } = withDeadline(ex.signal, this.#deps.fanoutTimeoutMs);
    await Promise.allSettled(
      ex.backend.targets.map((target) => {
        const state = session.targets.get(target.name);
        if (!state) return undefined;
        return this.#deps.upstreams.for(target).terminate({ target, signal, ...state });
      }),
    ).finally(clear);
    return new Response(null, { status: 200 });
  }

  /** After each routing-table swap: tell open sessions whose backend's target set changed. */
  onTableChange(change: TableChange): void {
    const before = targetSets(change.previous);
    const changed = new Set<string>();
    for (const [id, set] of targetSets(change.next)) if (before.get(id) !== set) changed.add(id);
    if (changed.size === 0) return;
    const { metrics } = this.#deps;
    let notified = 0;
    for (const session of this.#store.all()) {
      if (!changed.has(session.backendId)) continue;
      session.forgetOwners();
      session.events.forgetLists();
      const events = session.events;
      if (!events.active) continue;
      for (const kind of LIST_CHANGED) {
        if (events.send({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` }))
          metrics.listChangedSent.labels(kind).inc();
      }
      notified += 1;
    }
    metrics.discoveryLag.observe((performance.now() - change.changedAt) / 1000);
    this.#deps.logger.info({ backends: [...changed], sessionsNotified: notified }, 'backend targets changed');
  }

  /** Graceful drain: refuse new sessions, end GET streams, wait for in-flight requests (up to timeoutMs). */
  async close(timeoutMs = 10_000): Promise<void> {
    this.#closing = true;
    for (const session of this.#store.all()) session.close();
    if (this.#active > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        this.#drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#store.close();
    await this.#deps.upstreams.close(this.#active > 0);
  }
}

/** backend id → a fingerprint of its target set (names and addresses, not endpoints: pods come and go). */
function targetSets(table: RoutingTable): Map<string, string> {
  const sets = new Map<string, string>();
  for (const listener of table.listeners) {
    for (const route of listener.routes) {
      if (route.action.type !== 'mcp') continue;
      const { backend } = route.action;
      if (sets.has(backend.id)) continue;
      sets.set(
        backend.id,
        backend.targets.map((t) => `${t.name}|${t.protocol}|${t.host}:${t.port}${t.path}`).join(','),
      );
    }
  }
  return sets;
}
