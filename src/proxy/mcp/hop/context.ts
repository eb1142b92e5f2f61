/**
 * What the layers below the entry need while serving one request: process-wide dependencies, the
 * backend as the routing table saw it when the request arrived, the client's signal and (after
 * initialize) the session. Read-only: a layer reports what happened in the Outcome it returns.
 */

import type { Readable } from 'node:stream';
import type { Logger } from '../../../shared/logger.js';
import type { Metrics } from '../../../shared/metrics.js';
import type { McpBackend, McpTarget, UpstreamCredential } from '../../../shared/table.js';
import type { Span, Tracing } from '../../../shared/tracing.js';
import type { Rewrite } from '../rewrite/outbound.js';
import type { Session, TargetSession } from '../session/session.js';
import type { SessionBufferLimits } from '../session/session-events.js';
import type { JsonObject } from '../wire/jsonrpc.js';
import type { SseLimits } from '../wire/sse-stream.js';
import type { Eras } from './eras.js';
import type { Health } from './health.js';
import type { ParkedCalls } from './parked-calls.js';
import type { ToolHeaders } from './tool-headers.js';
import type { Upstreams } from './upstreams.js';

export interface Deps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly upstreams: Upstreams;
  /** Which revision each target speaks (probed, remembered per endpoint). */
  readonly eras: Eras;
  /** 2026 targets' `x-mcp-header` markers, for 2025 clients' calls. */
  readonly toolHeaders: ToolHeaders;
  /** OpenTelemetry tracing; absent when off (nothing is traced, nothing costs). */
  readonly tracing?: Tracing;
  /** Each target's health: passive failures, probes, whether it is left out of merged lists. */
  readonly health: Health;
  /** 2025 targets' calls waiting for a 2026-07-28 client's next round. */
  readonly parked: ParkedCalls;
  readonly fanoutTimeoutMs: number;
  readonly sseKeepAliveMs: number;
  /** Every downstream SSE stream's cap (`--max-stream-buffer`) and its metrics. */
  readonly sse: SseLimits;
  /** What a session keeps while no GET stream is open (`--session-buffer-bytes`). */
  readonly sessionBuffer: SessionBufferLimits;
  /** Reuse a session's last list answers while the target would announce a change (list-cache.ts). */
  readonly listCache: boolean;
  readonly limits: RequestLimits;
}

/** Bounds on what one session's requests may hold (flags of the same names, README: Limits). */
export interface RequestLimits {
  /** --max-batch-size */
  readonly maxBatchSize: number;
  /** --max-session-inflight */
  readonly maxSessionInflight: number;
  /** --max-session-target-calls */
  readonly maxSessionTargetCalls: number;
}

export type ItemKind = 'tool' | 'prompt' | 'resource';

/** One tool, prompt or resource as a policy sees it: the target and the upstream's own name or URI. */
export interface Item {
  readonly kind: ItemKind;
  readonly target: string;
  readonly name: string;
  /** A tool call's arguments (absent in lists). */
  readonly args?: unknown;
}

/** A rate limit refused a request: retry after this long. */
export interface RateLimited {
  readonly retryAfterMs: number;
  readonly policy: string;
  /** Which kind of limit refused: a bucket of this process, or one shared through Redis. */
  readonly scope: 'local' | 'global';
}

/**
 * What the route's AgentgatewayPolicies decided about the caller (src/proxy/policy implements it).
 * The MCP layers ask it what an identity may see and call, and whether a request is within limits.
 */
export interface Access {
  /** Who the caller is ('' when anonymous): a session belongs to the identity that started it. */
  readonly principal: string;
  /** The route's policy checks calls (authorization, rate limits): `allows` and `limit` must be asked. */
  readonly inspects: boolean;
  /** Lists are filtered per identity: even one target's lists go through the multiplexer. */
  readonly filtersLists: boolean;
  /** Whether the caller may see (in lists) or call, get or read this item. */
  allows(item: Item, stage: 'list' | 'call'): boolean;
  /** `backend.auth`: the header mcplane sets on upstream requests (never the client's own). */
  readonly upstreamCredential?: UpstreamCredential;
  /** Rate limits for one JSON-RPC request; undefined when admitted. */
  limit(method: string, item?: Item): RateLimited | undefined | Promise<RateLimited | undefined>;
}

/** No policy on the route: everyone is anonymous and may do everything. */
export const OPEN_ACCESS: Access = {
  principal: '',
  inspects: false,
  filtersLists: false,
  allows: () => true,
  limit: () => undefined,
};

/** A call's upstream SSE stream, held between a 2026-07-28 client's rounds (hop/parked-calls.ts). */
export interface ParkedUpstream {
  readonly target: McpTarget;
  readonly state: TargetSession;
  readonly upstream: Readable;
  /** The stream's messages, read up to the target's request to the client. */
  readonly messages: AsyncGenerator<unknown>;
}

/**
 * What became of a target's request to a 2026-07-28 client: answered upstream by the gateway (the
 * call goes on), or turned into the client's final message (`input_required`; the call is parked).
 */
export type ServerRequestAnswer =
  | { readonly kind: 'answered' }
  | { readonly kind: 'ends'; readonly message: unknown };

export type ServerRequestHook = (request: JsonObject, call: ParkedUpstream) => ServerRequestAnswer;

export interface Context {
  readonly deps: Deps;
  readonly backend: McpBackend;
  readonly access: Access;
  /** Aborts when the client goes away (or the service shuts down hard). */
  readonly signal: AbortSignal;
  /**
   * A 2026-07-28 client's request (mux/modern.ts): what every upstream message for the client goes
   * through last — the client's own request id back, `resultType` on results.
   */
  readonly toClient?: Rewrite;
  /**
   * A 2026-07-28 client's request: what answers a target's request to the client (sampling,
   * elicitation, roots) during the call — the client cannot take one on its stream.
   */
  readonly serverRequests?: ServerRequestHook;
  /** A 2026-07-28 `tools/call`'s `Mcp-Param-*` headers (checked for form), for the modern hop. */
  readonly paramHeaders?: Readonly<Record<string, string>>;
  /** The request's server span (tracing on): the parent of every upstream hop's client span. */
  readonly span?: Span;
}

export interface SessionContext extends Context {
  readonly session: Session;
}

/** A request's context, every field present: contexts then share one hidden class (below). */
export function requestContext(
  deps: Deps,
  backend: McpBackend,
  access: Access,
  signal: AbortSignal,
): Context {
  return contextWith({ deps, backend, access, signal }, {});
}

/**
 * A context with some fields replaced, built field by field so every context has one hidden class:
 * an object spread of contexts of varying shapes took V8's generic clone, about 1.5 µs a request
 * (the biggest line of the entry's profile).
 */
export function contextWith(
  cx: Context,
  fields: Partial<Omit<Context, 'deps' | 'backend' | 'access'>>,
): Context {
  return {
    deps: cx.deps,
    backend: cx.backend,
    access: cx.access,
    signal: fields.signal ?? cx.signal,
    toClient: fields.toClient ?? cx.toClient,
    serverRequests: fields.serverRequests ?? cx.serverRequests,
    paramHeaders: fields.paramHeaders ?? cx.paramHeaders,
    span: fields.span ?? cx.span,
  };
}

/** The request's context with its session (and a 2026-07-28 request's fields), as contextWith. */
export function withSession(
  cx: Context,
  session: Session,
  fields: Pick<Context, 'toClient' | 'serverRequests'> = cx,
): SessionContext {
  return {
    deps: cx.deps,
    backend: cx.backend,
    access: cx.access,
    signal: cx.signal,
    toClient: fields.toClient,
    serverRequests: fields.serverRequests,
    paramHeaders: cx.paramHeaders,
    span: cx.span,
    session,
  };
}
