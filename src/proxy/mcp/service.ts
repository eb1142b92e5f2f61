/**
 * The MCP data plane for one process, and the entry of `src/proxy/mcp/`: serves MCP streamable HTTP
 * for whatever McpBackend route matching selected, holds sessions, and tells open sessions when
 * their backend's targets change. The layers below return an Outcome; only this file finishes a
 * request (metrics, the request log, the drain count) and turns its Reply into the HTTP response.
 *
 *   service ─▶ mux (dispatch, lists, batch, initialize) ─▶ hop (targets, forward, upstream streams)
 *                                                         ─▶ session, rewrite ─▶ wire
 */
import type { DownTargets } from '../../shared/health-status.js';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import type { TableChange } from '../../shared/publisher.js';
import type { McpBackend, RoutingTable } from '../../shared/table.js';
import type { Span, Tracing } from '../../shared/tracing.js';
import { child } from '../metric-children.js';
import {
  type Access,
  type Context,
  contextWith,
  type Deps,
  OPEN_ACCESS,
  requestContext,
  type SessionContext,
  withSession,
} from './hop/context.js';
import { type EraMode, Eras } from './hop/eras.js';
import { Health, type HealthEvent, type HealthOptions } from './hop/health.js';
import { healthProbe } from './hop/health-probe.js';
import { limited, type Outcome } from './hop/outcome.js';
import { ParkedCalls } from './hop/parked-calls.js';
import { streamLimits } from './hop/stream-limits.js';
import { terminateTargets } from './hop/targets.js';
import { ToolHeaders } from './hop/tool-headers.js';
import { attachUpstreamStreams, streamsReady } from './hop/upstream-streams.js';
import { Upstreams } from './hop/upstreams.js';
import { serveBatch } from './mux/batch.js';
import { dispatchRequest } from './mux/dispatch.js';
import { initializeSession, type SessionStart } from './mux/initialize.js';
import { Listeners } from './mux/listen.js';
import { type ModernDeps, modernNotification, serveModern } from './mux/modern.js';
import { dispatchNotification, dispatchResponse } from './mux/notify.js';
import { answeredError, errorType, toolLabel } from './operation-labels.js';
import { type LogSubject, logRequest } from './request-log.js';
import { serverSpanEnd, serverSpanStart } from './request-span.js';
import type { KeyRing } from './session/key-ring.js';
import { OwnedSessions } from './session/owned-sessions.js';
import { Revocations } from './session/revocations.js';
import type { Session } from './session/session.js';
import { type Lookup, SessionStore, sessionsFull } from './session/session-store.js';
import { headerMismatch, isModernVersion, isServedModern, paramHeaders } from './wire/era.js';
import { JsonRpcCode, limitReply, rpcErrorReply, sessionNotFound } from './wire/errors.js';
import { checkGetHeaders, checkPostHeaders, readBody, unsupportedVersion } from './wire/http.js';
import type { HttpRequest, IncomingRequest } from './wire/incoming.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './wire/json-depth.js';
import { asObject, type Classified, classify, type JsonRpcRequest } from './wire/jsonrpc.js';
import { sessionInflightLimit } from './wire/limits.js';
import { methodLabel, RESPONSE_LABEL } from './wire/methods.js';
import { isSupportedVersion } from './wire/protocol-version.js';
import { paramHeaderEntries } from './wire/raw-headers.js';
import { type Reply, streamReply } from './wire/reply.js';
import { SseStream, streamBufferError } from './wire/sse-stream.js';

export interface McpServiceOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Session sealing keys (KeyRing.fromSpec or KeyRing.random). */
  readonly keyRing: KeyRing;
  /** Idle sessions leave this replica's memory after this long (they reopen from their tokens). */
  readonly sessionIdleTtlMs: number;
  /** Sessions held in memory, busy ones included. */
  readonly maxSessions: number;
  /** Sessions end this long after their issue time (default 24 h). */
  readonly sessionMaxLifetimeMs?: number;
  /** Largest serialized `initialize` params (default 64 KiB). */
  readonly maxInitializeBytes?: number;
  /** Revoked sessions, shared with the peer exchange (gateway.ts); made here when absent. */
  readonly revocations?: Revocations;
  readonly maxBodyBytes: number;
  readonly fanoutTimeoutMs: number;
  readonly sseKeepAliveMs: number;
  /** Reuse a session's list answers while the target's event stream is open (default true). */
  readonly listCache?: boolean;
  /** Defaults as the flags': 32, 64, 16. */
  readonly maxBatchSize?: number;
  readonly maxSessionInflight?: number;
  readonly maxSessionTargetCalls?: number;
  /** Bytes one SSE stream may queue for a client that does not read (default 8 MiB). */
  readonly maxStreamBufferBytes?: number;
  /** Bytes a session keeps while no GET stream is open (default 1 MiB; at most maxStreamBufferBytes). */
  readonly sessionBufferBytes?: number;
  /** OpenTelemetry tracing (shared/tracing.ts); absent: off. */
  readonly tracing?: Tracing;
  /** `auto` probes each target's revision with server/discover; `legacy` never does (default auto). */
  readonly upstreamEra?: EraMode;
  /** Upstream sessions held for 2026-07-28 clients: one per route, backend and identity (default 1024). */
  readonly maxOwnedSessions?: number;
  /** How long a target's probed revision is trusted (default 5 min). */
  readonly upstreamEraMaxAgeMs?: number;
  /** How the request log shows the caller (default: a digest). */
  readonly logSubject?: LogSubject;
  /** Upstream health (hop/health.ts); defaults as the flags': 3 failures, no probes, 30 s. */
  readonly health?: Partial<HealthOptions>;
  /** A target went down or came back (the gateway then rewrites the backends' Healthy condition). */
  readonly onHealthChange?: () => void;
}

export interface McpRoute {
  readonly id: string;
  readonly routeName: string;
}

const LIST_CHANGED = ['tools', 'prompts', 'resources'] as const;
const HTTP_LABELS: ReadonlySet<string> = new Set(['GET', 'POST', 'DELETE']);

const missingSession = (): Outcome => ({
  reply: rpcErrorReply(
    400,
    JsonRpcCode.InvalidRequest,
    'Bad Request: the Mcp-Session-Id header is required for every request except initialize',
  ),
});

/** Defaults of the session bounds when a caller (tests, the bench) leaves them out. */
const SESSION_DEFAULTS = {
  maxLifetimeMs: 24 * 3_600_000,
  maxInitializeBytes: 64 * 1024,
  maxRevokedSessions: 100_000,
} as const;

const HEALTH_DEFAULTS: HealthOptions = { failureThreshold: 3, probeIntervalMs: 0, graceMs: 30_000 };

const shuttingDown = (id: JsonRpcRequest['id'] | null = null): Outcome => ({
  reply: rpcErrorReply(503, JsonRpcCode.InternalError, 'The gateway is shutting down', id),
});

/**
 * The entry's own bookkeeping of one request: its metrics label, the name a tools/call or
 * prompts/get asked for (for the log), and what to release when it finishes.
 */
interface Pending {
  method: string;
  name?: string;
  release?: () => void;
  /** When the request arrived (performance.now()). */
  readonly started: number;
  /** The request's server span (tracing on), ended with the request. */
  span?: Span;
  /** Who called ('' when anonymous); the request log shows it as --log-subject says. */
  readonly principal: string;
}

export class McpService {
  readonly #deps: Deps;
  readonly #store: SessionStore;
  readonly #start: SessionStart;
  /** The upstream sessions held for 2026-07-28 clients (per route, backend and identity). */
  readonly #owned: OwnedSessions;
  /** 2026-07-28 clients' subscriptions/listen streams. */
  readonly #listeners = new Listeners();
  /** What the 2026-07-28 path needs beyond a request's context (made once). */
  readonly #modern: ModernDeps;
  /** The service made it (no peers): it stops it. */
  readonly #ownRevocations: Revocations | undefined;
  readonly #maxBodyBytes: number;
  readonly #logSubject: LogSubject;
  readonly #onHealthChange: (() => void) | undefined;
  #closing = false;
  #active = 0;
  /** The sessions count last written to mcplane_sessions_active (a gauge write per request costs). */
  #reportedSessions = -1;
  #drained: (() => void) | undefined;
  /** The MCP backends of the table served now. */
  #backends: readonly McpBackend[] = [];

  constructor(options: McpServiceOptions) {
    this.#deps = {
      logger: options.logger,
      metrics: options.metrics,
      upstreams: new Upstreams(),
      parked: new ParkedCalls(),
      health: new Health({ ...HEALTH_DEFAULTS, ...options.health }, (backendId, target, event) =>
        this.#targetHealth(backendId, target, event),
      ),
      eras: new Eras(options.upstreamEra ?? 'auto', options.upstreamEraMaxAgeMs ?? 300_000),
      toolHeaders: new ToolHeaders(options.upstreamEraMaxAgeMs ?? 300_000),
      ...(options.tracing ? { tracing: options.tracing } : {}),
      fanoutTimeoutMs: options.fanoutTimeoutMs,
      sseKeepAliveMs: options.sseKeepAliveMs,
      listCache: options.listCache ?? true,
      limits: {
        maxBatchSize: options.maxBatchSize ?? 32,
        maxSessionInflight: options.maxSessionInflight ?? 64,
        maxSessionTargetCalls: options.maxSessionTargetCalls ?? 16,
      },
      ...streamLimits(options.metrics, options.maxStreamBufferBytes, options.sessionBufferBytes),
    };
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#logSubject = options.logSubject ?? 'hash';
    this.#onHealthChange = options.onHealthChange;
    const maxLifetimeMs = options.sessionMaxLifetimeMs ?? SESSION_DEFAULTS.maxLifetimeMs;
    if (!options.revocations) {
      this.#ownRevocations = new Revocations({
        maxEntries: SESSION_DEFAULTS.maxRevokedSessions,
        lifetimeMs: maxLifetimeMs,
      });
    }
    const store = new SessionStore(
      options.keyRing,
      { idleTtlMs: options.sessionIdleTtlMs, maxSessions: options.maxSessions, maxLifetimeMs },
      options.revocations ?? this.#ownRevocations!,
      (session) => {
        session.close();
        this.#reportSessions();
      },
    );
    this.#store = store;
    this.#owned = new OwnedSessions({
      maxSessions: options.maxOwnedSessions ?? 1024,
      idleMs: options.sessionIdleTtlMs,
    });
    this.#deps.health.start(healthProbe(this.#deps));
    options.metrics.upstreamUp.watch(() => this.#deps.health.targets());
    options.metrics.ownedSessions.watch(() => this.#owned.size);
    options.metrics.parkedCalls.watch(() => this.#deps.parked.size);
    options.metrics.listenFeeds.watch(() => this.#listeners.feeds);
    this.#modern = { keyRing: options.keyRing, listeners: this.#listeners };
    this.#start = {
      keyRing: options.keyRing,
      store,
      maxSessions: options.maxSessions,
      maxInitializeBytes: options.maxInitializeBytes ?? SESSION_DEFAULTS.maxInitializeBytes,
      reportSessions: () => this.#reportSessions(),
    };
  }

  #reportSessions(): void {
    const size = this.#store.size;
    if (size === this.#reportedSessions) return;
    this.#reportedSessions = size;
    this.#deps.metrics.sessionsActive.set(size);
  }

  /** Serve one HTTP request that route matching sent to an MCP backend (any path). */
  async handle(
    request: IncomingRequest,
    backend: McpBackend,
    route: McpRoute,
    signal: AbortSignal,
    access: Access = OPEN_ACCESS,
  ): Promise<Reply> {
    const started = performance.now();
    this.#active += 1;
    const cx = requestContext(this.#deps, backend, access, signal);
    // The label until the body says more: GET, DELETE, POST (refused before it was read), or other.
    const pending: Pending = {
      method: HTTP_LABELS.has(request.method) ? request.method : 'other',
      started,
      principal: access.principal,
    };
    let outcome: Outcome;
    try {
      outcome = await this.#serve(request, cx, pending, route);
    } catch (error) {
      // A client that went away is not the gateway's failure (and its answer goes nowhere).
      const level = signal.aborted ? 'debug' : 'error';
      this.#deps.logger[level]({ err: error, backend: backend.id, route: route.id }, 'MCP request failed');
      outcome = { reply: rpcErrorReply(500, JsonRpcCode.InternalError, 'Internal error') };
    }
    const { reply } = outcome;
    const finish = (result: 'ok' | 'error') =>
      this.#finish(route, backend, pending, outcome, result, performance.now() - started);
    if (reply.kind === 'stream') void reply.ended.then(finish);
    else finish(reply.status >= 500 ? 'error' : 'ok');
    return reply;
  }

  #finish(
    route: McpRoute,
    backend: McpBackend,
    pending: Pending,
    outcome: Outcome,
    result: 'ok' | 'error',
    elapsedMs: number,
  ): void {
    const { metrics, logger } = this.#deps;
    child(metrics.requests, route.id, backend.id, pending.method, result).inc();
    const tool =
      pending.name === undefined || pending.method !== 'tools/call'
        ? ''
        : toolLabel(metrics.toolLabels, backend, pending.name, outcome.target);
    const rpcError = answeredError(outcome.rpcError, outcome.reply);
    const error = errorType(rpcError, result === 'error');
    child(metrics.serverOperationDuration, route.id, backend.id, pending.method, tool, error).observe(
      elapsedMs / 1000,
    );
    if (logger.isLevelEnabled('info'))
      logRequest(
        logger,
        this.#logSubject,
        route.id,
        backend.id,
        pending,
        outcome,
        rpcError,
        result,
        elapsedMs,
      );
    if (pending.span) serverSpanEnd(pending.span, route, backend, pending, outcome, result);
    pending.release?.();
    this.#active -= 1;
    if (this.#active === 0) this.#drained?.();
  }

  #serve(
    request: IncomingRequest,
    cx: Context,
    pending: Pending,
    route: McpRoute,
  ): Promise<Outcome> | Outcome {
    switch (request.method) {
      case 'POST':
        return this.#post(request, cx, pending, route);
      case 'GET':
        return this.#get(request, cx);
      case 'DELETE':
        return this.#delete(request, cx);
      default:
        return { reply: { kind: 'empty', status: 405, headers: { allow: 'GET, POST, DELETE' } } };
    }
  }

  async #post(request: IncomingRequest, cx: Context, pending: Pending, route: McpRoute): Promise<Outcome> {
    const rejected = checkPostHeaders(request);
    if (rejected) return { reply: rejected };
    const body = await readBody(request, this.#maxBodyBytes);
    if ('reply' in body) {
      if (body.reply.kind === 'json' && body.reply.status === 413)
        this.#deps.metrics.limitRejected('body_bytes');
      return { reply: body.reply };
    }
    if (nestsDeeperThan(body.text, MAX_JSON_DEPTH)) {
      this.#deps.metrics.limitRejected('json_depth');
      const message = `Invalid Request: the message nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`;
      return invalid(400, JsonRpcCode.InvalidRequest, message);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      return invalid(400, JsonRpcCode.ParseError, 'Parse error: the body is not valid JSON');
    }
    const { tracing } = this.#deps;
    if (!tracing) return this.#parsed(request, cx, pending, route, parsed, body.text);
    // The client's trace context: its headers, else the message's _meta (where SDKs put it).
    const params = asObject(asObject(parsed)?.params);
    const span = tracing.serverSpan(
      'mcp',
      request.headers,
      params?._meta,
      performance.timeOrigin + pending.started,
    );
    pending.span = span;
    serverSpanStart(span, request, parsed);
    return this.#parsed(request, contextWith(cx, { span }), pending, route, parsed, body.text);
  }

  #parsed(
    request: IncomingRequest,
    cx: Context,
    pending: Pending,
    route: McpRoute,
    parsed: unknown,
    text: string,
  ): Promise<Outcome> | Outcome {
    const version = request.headers.get('mcp-protocol-version');
    const modern = isModernVersion(version) ? modernMessage(request, parsed, version!, pending) : undefined;
    if (modern && 'reply' in modern) return modern;
    if (!modern && version !== null && !isSupportedVersion(version)) {
      const id = asObject(parsed)?.id;
      const reply = unsupportedVersion(version, typeof id === 'string' || typeof id === 'number' ? id : null);
      return { reply, rpcError: JsonRpcCode.UnsupportedProtocolVersion };
    }
    const { backend } = cx;
    if (backend.targets.length === 0) {
      const name = `${backend.namespace}/${backend.name}`;
      return invalid(503, JsonRpcCode.UpstreamUnavailable, `MCP backend ${name} has no targets to serve`);
    }
    if (modern) {
      const { message } = modern;
      pending.name = itemName(message);
      const owner = this.#owned.get(route.id, backend.id, cx.access.principal);
      const params = message.method === 'tools/call' ? paramHeaders(modern.params) : undefined;
      return serveModern(
        params ? contextWith(cx, { paramHeaders: params }) : cx,
        owner,
        message,
        this.#modern,
      );
    }
    if (Array.isArray(parsed)) {
      pending.method = 'batch';
      const found = this.#session(request, cx);
      return 'reply' in found ? found : serveBatch(found, parsed);
    }
    const classified = classify(parsed);
    if (typeof classified === 'string') {
      return invalid(400, JsonRpcCode.InvalidRequest, `Invalid Request: ${classified}`);
    }
    return this.#one(request, cx, pending, classified, text);
  }

  #one(
    request: IncomingRequest,
    cx: Context,
    pending: Pending,
    classified: Classified,
    raw: string,
  ): Promise<Outcome> | Outcome {
    const { kind, message } = classified;
    pending.method = kind === 'response' ? RESPONSE_LABEL : methodLabel(message.method);
    if (kind === 'request' && message.method === 'initialize') {
      if (this.#closing) return shuttingDown(message.id);
      return initializeSession(cx, this.#start, message);
    }
    const found = this.#session(request, cx);
    if ('reply' in found) return found;
    if (kind === 'request') {
      pending.name = itemName(message);
      return this.#request(found, pending, message, raw);
    }
    if (kind === 'notification') return dispatchNotification(found, message, raw);
    return dispatchResponse(found, message, raw);
  }

  /**
   * A request id the session still has in flight is refused: upstreams route replies by id, so a
   * duplicate would take over (and break) the first request's stream. The ids in flight are also
   * what --max-session-inflight counts.
   */
  #request(
    sx: SessionContext,
    pending: Pending,
    message: JsonRpcRequest,
    raw: string,
  ): Promise<Outcome> | Outcome {
    const { id } = message;
    const ids = sx.session.requestIds;
    if (ids.has(id)) {
      return invalid(
        400,
        JsonRpcCode.InvalidRequest,
        `Invalid Request: request id ${JSON.stringify(id).slice(0, 100)} is already in flight in this session; use a new id`,
        id,
      );
    }
    const max = this.#deps.limits.maxSessionInflight;
    if (ids.size >= max) {
      this.#deps.metrics.limitRejected('session_inflight');
      return limited(sessionInflightLimit(max), id);
    }
    ids.add(id);
    // Released when the request finishes: for a streamed answer, when its stream ends.
    pending.release = () => ids.delete(id);
    const ready = streamsReady(sx);
    if (ready) return ready.then(() => dispatchRequest(sx, message, raw));
    return dispatchRequest(sx, message, raw);
  }

  /** The request's session; `hold: false` (DELETE) does not take a place in memory for it. */
  #session(request: HttpRequest, cx: Context, hold = true): SessionContext | Outcome {
    const token = request.headers.get('mcp-session-id');
    if (token === null || token === '') return missingSession();
    const found = this.#store.get(token, cx.backend, hold, cx.access.principal);
    // A session opened from its token (issued elsewhere, or dropped here) may have joined the map.
    this.#reportSessions();
    if ('session' in found) return withSession(cx, found.session);
    return this.#notFound(cx, found);
  }

  #notFound(cx: Context, found: Exclude<Lookup, { session: Session }>): Outcome {
    const { metrics, logger } = this.#deps;
    if ('full' in found) {
      metrics.limitRejected('sessions');
      return {
        reply: limitReply(503, sessionsFull(this.#start.maxSessions), null, 1),
        rpcError: JsonRpcCode.LimitExceeded,
      };
    }
    // Expired, revoked or below the revocation floor: 404 like any unknown id, so clients start over.
    if (found.missing === 'expired') metrics.limitRejected('session_lifetime');
    else if (found.missing === 'floor') metrics.limitRejected('revoked_sessions');
    logger.debug({ backend: cx.backend.id, reason: found.missing }, 'session not found');
    return { reply: sessionNotFound() };
  }

  #get(request: HttpRequest, cx: Context): Outcome {
    const rejected = checkGetHeaders(request);
    if (rejected) return { reply: rejected };
    const sx = this.#session(request, cx);
    if ('reply' in sx) return sx;
    if (this.#closing) return shuttingDown();
    const { session } = sx;
    const { metrics, sse: limits } = this.#deps;
    let end: (outcome: 'ok' | 'error') => void = () => {};
    const sse: SseStream = new SseStream(
      this.#deps.sseKeepAliveMs,
      () => {
        session.events.closed(sse);
        metrics.sseStreamsOpen.dec();
        end(sse.overflowed ? 'error' : 'ok');
      },
      limits,
      // The client fell that far behind: an error that answers no request, then the end of the
      // stream; the session keeps what comes next for its next GET (SDK clients reconnect).
      () => streamBufferError(limits.maxBytes),
    );
    const stream = streamReply('sse', sse.readable);
    end = stream.end;
    metrics.sseStreamsOpen.inc();
    // One GET stream per session: a reconnecting client replaces its old (maybe half-dead) stream
    // and receives what targets sent meanwhile.
    session.events.open(sse);
    void attachUpstreamStreams(sx);
    return { reply: stream.reply };
  }

  /** DELETE ends the session on every replica (a revocation) and its upstream sessions. */
  async #delete(request: HttpRequest, cx: Context): Promise<Outcome> {
    if (isModernVersion(request.headers.get('mcp-protocol-version')))
      return { reply: { kind: 'empty', status: 405, headers: { allow: 'POST' } } };
    const sx = this.#session(request, cx, false);
    if ('reply' in sx) return sx;
    this.#store.delete(sx.session);
    await terminateTargets(cx, sx.session);
    return { reply: { kind: 'empty', status: 200 } };
  }

  /**
   * After each routing-table swap: close the upstream pools of endpoints that left, and tell open
   * sessions whose backend's target set changed.
   */
  onTableChange(change: TableChange): void {
    const { upstreams, metrics, health } = this.#deps;
    upstreams.retain(change.next);
    const served = backends(change.next);
    this.#backends = served;
    health.retain(served);
    metrics.toolLabels.retain(new Map(served.map((b) => [b.id, b.targets.map((t) => t.name)])));
    const before = new Map(backends(change.previous).map((b) => [b.id, targetSet(b)]));
    const next = served.filter((b) => before.get(b.id) !== targetSet(b));
    if (next.length === 0) return;
    const notified = this.#notifyBackends(next);
    metrics.discoveryLag.observe((performance.now() - change.changedAt) / 1000);
    const changed = next.map((b) => b.id);
    this.#deps.logger.info({ backends: changed, sessionsNotified: notified }, 'backend targets changed');
  }

  /** Every MCP backend served and its targets that are down (for the backends' Healthy condition). */
  downTargets(): DownTargets {
    const down = new Map<string, string[]>();
    for (const { backend, target, up } of this.#deps.health.targets()) {
      let names = down.get(backend);
      if (names === undefined) {
        names = [];
        down.set(backend, names);
      }
      if (!up) names.push(target);
    }
    return down;
  }

  /** Tell the sessions and listen streams of these backends that their lists changed. */
  #notifyBackends(changed: readonly McpBackend[]): number {
    const ids = new Set(changed.map((b) => b.id));
    let notified = 0;
    for (const backend of changed) notified += this.#listeners.targetsChanged(backend);
    for (const session of this.#store.all()) {
      if (!ids.has(session.backendId)) continue;
      notified += notifyTargetsChanged(session, this.#deps) ? 1 : 0;
    }
    return notified;
  }

  /** A target went down or up, or left merged lists or came back (hop/health.ts). */
  #targetHealth(backendId: string, target: string, event: HealthEvent): void {
    const { logger } = this.#deps;
    const fields = { backend: backendId, target };
    if (event === 'down' || event === 'up') {
      if (event === 'down') logger.warn(fields, 'upstream target down: consecutive requests failed');
      else logger.info(fields, 'upstream target answers again');
      this.#onHealthChange?.();
      return;
    }
    const backend = this.#backends.find((b) => b.id === backendId);
    const sessionsNotified = backend ? this.#notifyBackends([backend]) : 0;
    const message =
      event === 'listed'
        ? 'upstream target back in merged lists'
        : 'upstream target down past --upstream-down-grace: left out of merged lists';
    logger.info({ ...fields, sessionsNotified }, message);
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
    this.#owned.close();
    this.#listeners.close();
    this.#deps.parked.close();
    this.#deps.health.close();
    this.#ownRevocations?.close();
    await this.#deps.upstreams.close(this.#active > 0);
  }
}

/**
 * A 2026-07-28 request, classified before anything else: its headers must agree with its body
 * (the spec's 400 / -32020 otherwise), then mux/modern.ts serves it. A later revision than the
 * gateway knows is answered UnsupportedProtocolVersion with the revisions it serves.
 */
function modernMessage(
  request: IncomingRequest,
  parsed: unknown,
  version: string,
  pending: Pending,
): { message: JsonRpcRequest; params: [string, string][] } | Outcome {
  if (Array.isArray(parsed)) {
    return invalid(400, JsonRpcCode.InvalidRequest, 'Invalid Request: 2026-07-28 has no JSON-RPC batches');
  }
  const classified = classify(parsed);
  if (typeof classified === 'string')
    return invalid(400, JsonRpcCode.InvalidRequest, `Invalid Request: ${classified}`);
  if (classified.kind === 'response') {
    return invalid(400, JsonRpcCode.InvalidRequest, 'Invalid Request: 2026-07-28 clients send no responses');
  }
  const { message } = classified;
  pending.method = methodLabel(message.method);
  const id = classified.kind === 'request' ? classified.message.id : null;
  // The request's Mcp-Param-* headers: checked here, then passed on to a 2026 target.
  const params = paramHeaderEntries(request.rawHeaders);
  const mismatch = headerMismatch(request.headers, message, params);
  if (mismatch) return invalid(400, mismatch.code, mismatch.message, id);
  if (!isServedModern(version))
    return { reply: unsupportedVersion(version, id), rpcError: JsonRpcCode.UnsupportedProtocolVersion };
  if (classified.kind === 'notification') return modernNotification();
  return { message: classified.message, params };
}

/** The tool or prompt a request names, for the request log (bounded). */
function itemName(message: JsonRpcRequest): string | undefined {
  if (message.method !== 'tools/call' && message.method !== 'prompts/get') return undefined;
  const name = message.params?.name;
  return typeof name === 'string' ? name.slice(0, 128) : undefined;
}

function invalid(
  status: number,
  code: number,
  message: string,
  id: JsonRpcRequest['id'] | null = null,
): Outcome {
  return { reply: rpcErrorReply(status, code, message, id), rpcError: code };
}

/** The session's backend changed targets: forget what named the old ones, and tell a listening client. */
function notifyTargetsChanged(session: Session, deps: Deps): boolean {
  session.forgetOwners();
  session.events.forgetLists();
  const events = session.events;
  if (!events.active) return false;
  for (const kind of LIST_CHANGED) {
    if (events.send({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` }, deps.sessionBuffer))
      deps.metrics.listChangedSent.labels(kind).inc();
  }
  return true;
}

/** Every MCP backend the table routes to, once each. */
function backends(table: RoutingTable): McpBackend[] {
  const found = new Map<string, McpBackend>();
  for (const listener of table.listeners) {
    for (const route of listener.routes) {
      const action = route.action;
      if (action.type === 'mcp' && !found.has(action.backend.id))
        found.set(action.backend.id, action.backend);
    }
  }
  return [...found.values()];
}

/** A fingerprint of a backend's target set (names and addresses, not endpoints: pods come and go). */
function targetSet(backend: McpBackend): string {
  return backend.targets.map((t) => `${t.name}|${t.protocol}|${t.host}:${t.port}${t.path}`).join(',');
}
