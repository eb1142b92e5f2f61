/**
 * Every Prometheus metric mcplane exports, defined in one place on one registry (prom-client).
 * Components receive the `Metrics` object; tests create their own registry so runs do not mix.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { BoundCounter, BoundHistogram } from './bound-metrics.js';
import { droppedLogLines } from './logger.js';
import { ToolLabels } from './tool-labels.js';

/**
 * Every bound a client can hit, as the `limit` label of `mcplane_limit_rejections_total`: label
 * values come from this list, never from a client. The README's Limits section explains each.
 */
export const LIMITS = [
  'body_bytes',
  'json_depth',
  'batch_size',
  'batch_duplicate_id',
  'initialize_bytes',
  'sessions',
  'session_lifetime',
  'revoked_sessions',
  'session_inflight',
  'session_target_calls',
  'stream_buffer',
  'session_buffer',
  'client_connections',
  'headers_timeout',
  'request_timeout',
  'origin',
  'drain_timeout',
  'listeners',
  'subscriptions',
] as const;
export type LimitName = (typeof LIMITS)[number];

const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/** A gauge read when scraped (no cost per request): `watch` says where from. */
function sampledGauge(name: string, help: string, registers: Registry[]) {
  let read: () => number = () => 0;
  const gauge = new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
  return Object.assign(gauge, {
    watch(source: () => number): void {
      read = source;
    },
  });
}

/** One target's health as the data plane sees it (1 up, 0 down). */
export interface TargetHealth {
  readonly backend: string;
  readonly target: string;
  readonly up: boolean;
}

/** `mcplane_upstream_up`, written at scrape time from the targets of the routing table served. */
function upstreamUp(registers: Registry[]) {
  let read: () => Iterable<TargetHealth> = () => [];
  const gauge = new Gauge({
    name: 'mcplane_upstream_up',
    help: 'Whether each target of each backend in the routing table is considered up (1) or down (0): passive (consecutive failed requests) and, with --upstream-probe-interval, active probes.',
    labelNames: ['backend', 'target'] as const,
    registers,
    collect() {
      this.reset();
      for (const { backend, target, up } of read()) this.labels(backend, target).set(up ? 1 : 0);
    },
  });
  return Object.assign(gauge, {
    watch(source: () => Iterable<TargetHealth>): void {
      read = source;
    },
  });
}

export function createMetrics(registry = new Registry(), options: { processMetrics?: boolean } = {}) {
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'mcplane_' });
  const registers = [registry];
  const limitRejections = new Counter({
    name: 'mcplane_limit_rejections_total',
    help: 'Requests, connections, streams or messages refused or cut because they hit a bound, by limit (see the README, Limits).',
    labelNames: ['limit'] as const,
    registers,
  });
  // Every series exists from the start at 0, so a rate() or an alert sees the first rejection.
  for (const limit of LIMITS) limitRejections.labels(limit).inc(0);
  return {
    registry,

    // --- data plane -------------------------------------------------------------------------
    requests: new BoundCounter({
      name: 'mcplane_requests_total',
      help: 'MCP requests served, by route, backend, MCP method and outcome (ok, error, rejected).',
      labelNames: ['route', 'backend', 'method', 'outcome'] as const,
      registers,
    }),
    /**
     * The OpenTelemetry MCP semantic conventions' `mcp.server.operation.duration`, as Prometheus
     * names it. Labels: the MCP method, the tool (`<target>_<tool>`, a name a target listed, else
     * `other`; empty for other methods), `error_type` (the JSON-RPC code the gateway answered
     * with, or `_OTHER`; empty on success), route and backend.
     */
    serverOperationDuration: new BoundHistogram({
      name: 'mcp_server_operation_duration_seconds',
      help: 'MCP requests served, from arrival to the end of the response (for SSE: the final message), by route, backend, mcp_method_name, gen_ai_tool_name and error_type (empty: success).',
      labelNames: ['route', 'backend', 'mcp_method_name', 'gen_ai_tool_name', 'error_type'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    upstreamRequests: new BoundCounter({
      name: 'mcplane_upstream_requests_total',
      help: 'Requests sent to upstream MCP targets, by backend, target, MCP method and outcome.',
      labelNames: ['backend', 'target', 'method', 'outcome'] as const,
      registers,
    }),
    upstreamStreamResumes: new Counter({
      name: 'mcplane_upstream_stream_resumes_total',
      help: "Calls' SSE streams a 2025 target closed before the response (SEP-1699 polling) that mcplane took up again with Last-Event-ID, by backend, target and result (resumed; refused: the target would not give it back; exhausted: past 1,000 resumptions of one call).",
      labelNames: ['backend', 'target', 'result'] as const,
      registers,
    }),
    /** `mcp.client.operation.duration`: one hop to one target; `error_type` is the failure kind. */
    clientOperationDuration: new BoundHistogram({
      name: 'mcp_client_operation_duration_seconds',
      help: 'Requests mcplane sent to upstream MCP targets, by backend, target, mcp_method_name and error_type (empty: answered; else unreachable, timeout, status, protocol, aborted, …).',
      labelNames: ['backend', 'target', 'mcp_method_name', 'error_type'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    /** Tool names allowed as label values (see ToolLabels); its cap is --metrics-max-tools. */
    toolLabels: new ToolLabels(),
    sessionsActive: new Gauge({
      name: 'mcplane_sessions_active',
      help: 'Client sessions held in this process memory (sessions themselves live in their sealed ids).',
      registers,
    }),
    sessionsCreated: new Counter({
      name: 'mcplane_sessions_created_total',
      help: 'Client sessions created by initialize.',
      registers,
    }),
    sseStreamsOpen: new Gauge({
      name: 'mcplane_sse_streams_open',
      help: 'Open downstream SSE streams (POST responses and GET streams).',
      registers,
    }),
    sseQueuedBytes: new Gauge({
      name: 'mcplane_sse_queued_bytes',
      help: 'Bytes queued in downstream SSE streams for clients that read slower than their messages arrive (each stream is capped by --max-stream-buffer).',
      registers,
    }),
    listCache: new Counter({
      name: 'mcplane_list_cache_total',
      help: 'Merged-list pages a session could reuse (result=hit) or had to ask the target for (miss): targets that declared listChanged, with their event stream open.',
      labelNames: ['method', 'result'] as const,
      registers,
    }),
    listChangedSent: new Counter({
      name: 'mcplane_list_changed_notifications_total',
      help: 'list_changed notifications sent to clients because a backend target set changed.',
      labelNames: ['kind'] as const,
      registers,
    }),
    limitRejections,
    /** Count `n` rejections by one of the LIMITS (the only way to name a limit: see LIMITS). */
    limitRejected(limit: LimitName, n = 1): void {
      limitRejections.labels(limit).inc(n);
    },
    authentications: new Counter({
      name: 'mcplane_authentications_total',
      help: 'Credentials checked on routes with an AgentgatewayPolicy, by result (ok, missing, invalid, expired, audience, issuer, unknown_key, jwks_unavailable, insufficient_scope).',
      labelNames: ['result'] as const,
      registers,
    }),
    authorizationDenials: new Counter({
      name: 'mcplane_authorization_denials_total',
      help: 'Requests or items refused by authorization rules, by backend, stage (http, list, call) and tool (<target>_<name>; names outside 64 safe characters or past 1,000 distinct values count as other).',
      labelNames: ['backend', 'stage', 'tool'] as const,
      registers,
    }),
    rateLimitRejections: new Counter({
      name: 'mcplane_rate_limit_rejections_total',
      help: 'Requests refused by a rate limit, by backend, tool (as for denials; "none" for requests without one) and limit (local, global).',
      labelNames: ['backend', 'tool', 'limit'] as const,
      registers,
    }),
    tokenExchanges: new Counter({
      name: 'mcplane_token_exchanges_total',
      help: 'RFC 8693 token exchanges sent to authorization servers for backend.auth.oauthTokenExchange, by outcome (ok, error); kept tokens are not counted.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    revokedSessions: new Gauge({
      name: 'mcplane_revoked_sessions',
      help: 'Deleted sessions this replica remembers (--max-revoked-sessions), until their max lifetime.',
      registers,
    }),
    peerRequests: new Counter({
      name: 'mcplane_peer_requests_total',
      help: 'Revocation exchange with peer replicas, by op (push, pull: sent; receive: served) and result (ok, error, unauthorized, invalid).',
      labelNames: ['op', 'result'] as const,
      registers,
    }),
    ownedSessions: sampledGauge(
      'mcplane_owned_sessions',
      'Upstream sessions mcplane holds for 2026-07-28 clients in front of 2025 targets (one per route, backend and identity; at most 1,024).',
      registers,
    ),
    parkedCalls: sampledGauge(
      'mcplane_parked_calls',
      "2025 targets' calls waiting for a 2026-07-28 client's next input_required round (at most 1,024, 5 min each).",
      registers,
    ),
    listenFeeds: sampledGauge(
      'mcplane_listen_feeds',
      'Upstream streams open to feed 2026-07-28 subscriptions/listen streams (one per target per backend and upstream credential).',
      registers,
    ),
    upstreamUp: upstreamUp(registers),
    logLinesDropped: new Counter({
      name: 'mcplane_log_lines_dropped_total',
      help: "Log lines dropped because stdout's reader fell 8 MiB behind (the process keeps serving; nothing else is lost).",
      registers,
      collect() {
        this.reset();
        this.inc(droppedLogLines());
      },
    }),
    listenersOpen: new Gauge({
      name: 'mcplane_listeners_open',
      help: 'Listener ports currently open.',
      registers,
    }),

    // --- control plane ----------------------------------------------------------------------
    reconciles: new Counter({
      name: 'mcplane_reconcile_total',
      help: 'Routing-table rebuilds, by result (changed, unchanged, error).',
      labelNames: ['result'] as const,
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'mcplane_reconcile_duration_seconds',
      help: 'Time to run translate() over the whole store.',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2],
      registers,
    }),
    tableVersion: new Gauge({
      name: 'mcplane_table_version',
      help: 'Version of the routing table being served.',
      registers,
    }),
    tableBuiltAt: new Gauge({
      name: 'mcplane_table_build_timestamp_seconds',
      help: 'Unix time the current routing table was published.',
      registers,
    }),
    objects: new Gauge({
      name: 'mcplane_objects',
      help: 'Objects in the resource store, by kind.',
      labelNames: ['kind'] as const,
      registers,
    }),
    sourceErrors: new Counter({
      name: 'mcplane_source_errors_total',
      help: 'Invalid input seen by a source (unparseable YAML, invalid resource), by source.',
      labelNames: ['source'] as const,
      registers,
    }),
    discoveryLag: new Histogram({
      name: 'mcplane_discovery_lag_seconds',
      help: 'From the store change that altered a backend target set to list_changed sent to clients.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    }),
    reflectorSynced: new Gauge({
      name: 'mcplane_reflector_synced',
      help: '1 once a reflector has applied its first list (or found its optional CRD absent).',
      labelNames: ['kind'] as const,
      registers,
    }),
    reflectorLastEvent: new Gauge({
      name: 'mcplane_reflector_last_event_timestamp_seconds',
      help: 'Unix time of the last list, event or bookmark a reflector saw.',
      labelNames: ['kind'] as const,
      registers,
    }),
    reflectorRestarts: new Counter({
      name: 'mcplane_reflector_restarts_total',
      help: 'Reflector list/watch restarts, by kind and reason.',
      labelNames: ['kind', 'reason'] as const,
      registers,
    }),
    leader: new Gauge({
      name: 'mcplane_leader',
      help: '1 while this replica holds the status-writer Lease.',
      registers,
    }),
    statusWrites: new Counter({
      name: 'mcplane_status_writes_total',
      help: 'Status subresource writes, by kind and result (ok, conflict, error).',
      labelNames: ['kind', 'result'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
