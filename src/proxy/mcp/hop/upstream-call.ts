/**
 * One call to one upstream target, with per-target metrics. Everything the multiplexer sends
 * upstream goes through post().
 */

import type { Metrics } from '../../../shared/metrics.js';
import type { Endpoint, McpTarget } from '../../../shared/table.js';
import { SPAN_STATUS_ERROR } from '../../../shared/tracing.js';
import { child } from '../../metric-children.js';
import {
  acceptedUnanswered,
  endedUnanswered,
  toUpstreamError,
  UpstreamError,
} from '../../upstream/errors.js';
import { parseJson, sseMessages } from '../../upstream/read.js';
import type { UpstreamReply } from '../../upstream/transport.js';
import type { Session } from '../session/session.js';
import { isModernVersion } from '../wire/era.js';
import { asObject, isResponse, type JsonObject, type JsonRpcResponse } from '../wire/jsonrpc.js';
import { methodLabel } from '../wire/methods.js';
import { handshakeHop, modernHop } from '../wire/modern-hop.js';
import { paramHeaderValues } from '../wire/param-headers.js';
import { GATEWAY_NAME, GATEWAY_VERSION } from '../wire/protocol-version.js';
import type { Context } from './context.js';

/** Who the gateway says it is on a 2026-07-28 hop that no client's session stands behind (probes). */
const GATEWAY_CLIENT: JsonObject = {
  capabilities: {},
  clientInfo: { name: GATEWAY_NAME, version: GATEWAY_VERSION },
};

/** Where and how to reach one target within a session. */
export interface Hop {
  readonly endpoint: Endpoint;
  readonly sessionId: string | undefined;
  readonly protocolVersion: string | undefined;
}

export async function post(
  cx: Pick<Context, 'deps' | 'backend' | 'access' | 'paramHeaders' | 'toClient' | 'span'> & {
    readonly session?: Session;
  },
  target: McpTarget,
  hop: Hop,
  method: string,
  body: string | Uint8Array,
  signal: AbortSignal | undefined,
  /** Forwarded unread (the transparent path): a large JSON reply may come back as a stream. */
  passThrough = false,
): Promise<UpstreamReply> {
  const { deps } = cx;
  const backendId = cx.backend.id;
  const credential = cx.access.upstreamCredential;
  const started = performance.now();
  // The method may be a client's (a forwarded message): a label, and a log field, only when known.
  const label = methodLabel(method);
  let headers: Readonly<Record<string, string>> | undefined;
  const modern = isModernVersion(hop.protocolVersion ?? null);
  // 2026-07-28 has no notifications from the client (stream close cancels; no handshake).
  if (modern && method.startsWith('notifications/')) return { kind: 'accepted', sessionId: undefined };
  const span = deps.tracing?.clientSpan(cx.span, label, {
    'mcp.method.name': label,
    'server.address': hop.endpoint.address,
    'server.port': hop.endpoint.port,
    'mcplane.backend': backendId,
    'mcplane.target': target.name,
  });
  // The hop's trace context goes in its headers, and for a sampled trace in the message's _meta
  // too (where MCP SDKs read it; rewriting every body for traces nobody keeps would cost each call).
  const carrier = span ? deps.tracing!.carrier(span) : undefined;
  let traceMeta = span?.isRecording() ? carrier : undefined;
  if (modern) {
    const { session } = cx;
    const framed = modernHop(
      body,
      method,
      hop.protocolVersion!,
      session?.clientParams ?? GATEWAY_CLIENT,
      session?.logLevel,
      traceMeta,
    );
    traceMeta = undefined; // framed in the same pass
    body = framed.body;
    headers = framed.headers;
    if (method === 'tools/call') {
      // A 2026 client's mirrored arguments are unchanged by de-prefixing: the target checks them. A
      // 2025 client mirrors none, so the gateway writes them from the target's own schema.
      const mirrored = cx.toClient
        ? cx.paramHeaders
        : await paramHeadersFor(cx, target, hop, framed.call, signal);
      if (mirrored) headers = { ...mirrored, ...headers };
    }
  } else if (method === 'initialize' && typeof body === 'string') {
    ({ body, headers } = handshakeHop(body));
  }
  if (carrier) headers = { ...headers, ...carrier };
  if (traceMeta) body = withTraceMeta(body, traceMeta);
  try {
    const reply = await deps.upstreams.for(target).post({
      target,
      body,
      signal,
      passThrough,
      ...hop,
      ...(credential ? { credential } : {}),
      ...(headers ? { headers } : {}),
    });
    child(deps.metrics.upstreamRequests, backendId, target.name, label, 'ok').inc();
    observe(deps.metrics, backendId, target.name, label, '', started);
    deps.health.answered(backendId, target.name);
    span?.end();
    return reply;
  } catch (error) {
    const failure = toUpstreamError(target.name, error, signal);
    if (span) {
      span.setAttribute('error.type', failure.failure);
      span.setStatus({ code: SPAN_STATUS_ERROR, message: failure.message });
      span.end();
    }
    child(deps.metrics.upstreamRequests, backendId, target.name, label, failure.failure).inc();
    observe(deps.metrics, backendId, target.name, label, failure.failure, started);
    deps.health.failed(backendId, target.name, failure);
    deps.logger[failure.failure === 'aborted' ? 'debug' : 'warn'](
      {
        backend: backendId,
        target: target.name,
        endpoint: `${hop.endpoint.address}:${hop.endpoint.port}`,
        method: label,
        failure: failure.failure,
      },
      failure.message,
    );
    throw failure;
  }
}

/** `mcp_client_operation_duration_seconds` of one hop (`error` empty when the target answered). */
function observe(
  metrics: Metrics,
  backend: string,
  target: string,
  method: string,
  error: string,
  started: number,
) {
  child(metrics.clientOperationDuration, backend, target, method, error).observe(
    (performance.now() - started) / 1000,
  );
}

/** A request's body with the hop's trace context in `params._meta` (a response's is left alone). */
function withTraceMeta(body: string | Uint8Array, carrier: Record<string, string>): string | Uint8Array {
  const message = asObject(JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')));
  if (!message || typeof message.method !== 'string') return body;
  const params = asObject(message.params) ?? {};
  const meta = { ...asObject(params._meta), ...carrier };
  return JSON.stringify({ ...message, params: { ...params, _meta: meta } });
}

/** The `Mcp-Param-*` headers of a 2025 client's call to a 2026 target, from the tool's markers. */
async function paramHeadersFor(
  cx: Pick<Context, 'deps' | 'backend' | 'access'>,
  target: McpTarget,
  hop: Hop,
  call: JsonObject | undefined,
  signal: AbortSignal | undefined,
): Promise<Record<string, string> | undefined> {
  if (typeof call?.name !== 'string') return undefined;
  const markers = await cx.deps.toolHeaders.of(cx, target, hop, call.name, signal);
  return markers && paramHeaderValues(markers, call.arguments);
}

/** The JSON-RPC response in a reply, skipping any notifications a stream carries before it. */
export async function awaitResponse(reply: UpstreamReply, target: string): Promise<JsonRpcResponse> {
  if (reply.kind === 'accepted') throw acceptedUnanswered(target);
  if (reply.kind === 'json-stream') {
    reply.body.destroy();
    throw new UpstreamError(target, 'protocol', 'internal: a streamed reply reached a reader that parses');
  }
  if (reply.kind === 'json') {
    const message = parseJson(reply.body, target);
    if (isResponse(message)) return message;
    throw new UpstreamError(
      target,
      'protocol',
      `target "${target}" answered with something other than a JSON-RPC response`,
    );
  }
  for await (const message of sseMessages(reply.body, target)) {
    if (isResponse(message)) return message;
  }
  throw endedUnanswered(target);
}
