/**
 * The seam between the multiplexer and upstream protocols: streamable HTTP (streamable-http.ts) and
 * legacy HTTP+SSE (legacy-sse.ts: GET /sse + `endpoint` event) implement it; stdio would too.
 */
import type { Readable } from 'node:stream';
import type { Endpoint, McpTarget, UpstreamCredential } from '../../shared/table.js';

export interface UpstreamRequest {
  readonly target: McpTarget;
  readonly endpoint: Endpoint;
  /** The upstream's own session id: never the client's. */
  readonly sessionId: string | undefined;
  /** The version this upstream negotiated (undefined before initialize). */
  readonly protocolVersion: string | undefined;
  readonly body: string | Uint8Array;
  readonly signal?: AbortSignal;
  /** A credential the route's policy sets upstream (`backend.auth`); never the client's. */
  readonly credential?: UpstreamCredential;
  /**
   * The caller forwards the reply's bytes unread (the transparent path): a large JSON reply may
   * then come back as a `json-stream` instead of being collected first.
   */
  readonly passThrough?: boolean;
  /** Headers a 2026-07-28 hop carries (`Mcp-Method`, `Mcp-Name`): computed per hop, never the client's. */
  readonly headers?: Readonly<Record<string, string>>;
}

export type UpstreamReply =
  | { readonly kind: 'accepted'; readonly sessionId: string | undefined }
  /** The whole JSON body (bounded by MAX_UPSTREAM_MESSAGE_BYTES). */
  | { readonly kind: 'json'; readonly sessionId: string | undefined; readonly body: Buffer }
  /** The SSE stream, as it arrives. */
  | { readonly kind: 'sse'; readonly sessionId: string | undefined; readonly body: Readable }
  /** A large JSON body as it arrives (only when the request asked for `passThrough`). */
  | {
      readonly kind: 'json-stream';
      readonly sessionId: string | undefined;
      readonly body: Readable;
      /** The upstream's Content-Length. */
      readonly length: number;
    };

export interface UpstreamTransport {
  /** Send one JSON-RPC message. Rejects with UpstreamError (naming the target) on any failure. */
  post(request: UpstreamRequest): Promise<UpstreamReply>;
  /**
   * Open the upstream's server→client stream (GET). Undefined when the upstream offers none (405).
   * The body ends when the upstream closes it or the signal aborts.
   */
  listen(request: Omit<UpstreamRequest, 'body'>): Promise<Readable | undefined>;
  /** End an upstream session (DELETE); failures are reported, callers usually ignore them. */
  terminate(request: Omit<UpstreamRequest, 'body'>): Promise<void>;
  /**
   * Close the pools of endpoints not in `endpoints` (endpointKey()s): gracefully, so requests and
   * streams in flight on them finish first. Called when the routing table changes.
   */
  retain(endpoints: ReadonlySet<string>): void;
  /** Release connections; `force` aborts requests still running. */
  close(force?: boolean): Promise<void>;
}

/** How transports key their connection pools: `address:port`. */
export function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.address}:${endpoint.port}`;
}
