/**
 * What the multiplexer needs while serving one request: process-wide dependencies, the backend as
 * the routing table saw it when the request arrived, and (after initialize) the session.
 */
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import type { McpBackend } from '../../shared/table.js';
import type { Session } from './session.js';
import type { Upstreams } from './upstreams.js';

export interface Deps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly upstreams: Upstreams;
  readonly fanoutTimeoutMs: number;
  readonly sseKeepAliveMs: number;
  /** Reuse a session's last list answers while the target would announce a change (list-cache.ts). */
  readonly listCache: boolean;
}

export interface Exchange {
  readonly deps: Deps;
  readonly backend: McpBackend;
  /** Aborts when the client goes away (or the service shuts down hard). */
  readonly signal: AbortSignal;
  /**
   * A streamed response calls this when its last byte is sent; until then the request counts as
   * in flight. Non-streamed responses are finished by the service when handle() returns.
   */
  streamed: boolean;
  /** The metrics label for this request: a known MCP method, `response`, `other`, GET or DELETE. */
  method: string;
  /** For the request log: the target a routed request went to. */
  target?: string;
  /** For the request log: the tool (tools/call) or prompt (prompts/get) name the client asked for. */
  name?: string;
  /** For the request log: the HTTP status sent, and the JSON-RPC error code when the gateway made one. */
  status?: number;
  rpcError?: number;
  finish(outcome: 'ok' | 'error'): void;
}

export interface SessionExchange extends Exchange {
  readonly session: Session;
}
