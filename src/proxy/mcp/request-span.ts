/**
 * What a request's server span says, by the OpenTelemetry MCP semantic conventions: named
 * `{mcp.method.name} {target}` (the tool or prompt, once it reached a target: a name no target has
 * stays out of span names, whose cardinality tracing backends index), with the method, the
 * JSON-RPC id, the revision, whether a session was named (never its id), the tool, prompt or
 * resource, the route, backend and target, and the JSON-RPC error code. Never arguments.
 */

import type { McpBackend } from '../../shared/table.js';
import { type Attributes, SPAN_STATUS_ERROR, type Span } from '../../shared/tracing.js';
import type { Outcome } from './hop/outcome.js';
import { isServedModern } from './wire/era.js';
import type { HttpRequest } from './wire/incoming.js';
import { asObject } from './wire/jsonrpc.js';
import { isSupportedVersion } from './wire/protocol-version.js';

/** A client's string in an attribute: bounded. */
const cut = (value: string) => value.slice(0, 256);

/** What is known once the body is parsed. */
export function serverSpanStart(span: Span, request: HttpRequest, parsed: unknown): void {
  const attributes: Attributes = {
    'mcplane.session.present': request.headers.has('mcp-session-id'),
  };
  const version = request.headers.get('mcp-protocol-version');
  if (version !== null && (isSupportedVersion(version) || isServedModern(version)))
    attributes['mcp.protocol.version'] = version;
  const id = asObject(parsed)?.id;
  if (typeof id === 'string' || typeof id === 'number') attributes['jsonrpc.request.id'] = cut(String(id));
  span.setAttributes(attributes);
}

/** What the answer said; ends the span. */
export function serverSpanEnd(
  span: Span,
  route: { readonly id: string },
  backend: McpBackend,
  pending: { readonly method: string; readonly name?: string },
  outcome: Outcome,
  result: 'ok' | 'error',
): void {
  const { method, name } = pending;
  const { target, rpcError, reply } = outcome;
  const attributes: Attributes = {
    'mcp.method.name': method,
    'mcplane.route': route.id,
    'mcplane.backend': backend.id,
    'http.response.status_code': reply.kind === 'stream' ? 200 : reply.status,
  };
  if (name !== undefined) {
    if (method === 'tools/call') {
      attributes['gen_ai.tool.name'] = cut(name);
      attributes['gen_ai.operation.name'] = 'execute_tool';
    } else if (method === 'prompts/get') attributes['gen_ai.prompt.name'] = cut(name);
    else attributes['mcp.resource.uri'] = cut(name);
  }
  if (target !== undefined) attributes['mcplane.target'] = target;
  if (rpcError !== undefined) {
    attributes['rpc.response.status_code'] = String(rpcError);
    attributes['error.type'] = String(rpcError);
  }
  span.setAttributes(attributes);
  const named = target !== undefined && name !== undefined && method !== 'resources/read';
  span.updateName(named ? `${method} ${cut(name)}` : method);
  if (result === 'error' || rpcError !== undefined) span.setStatus({ code: SPAN_STATUS_ERROR });
  span.end();
}
