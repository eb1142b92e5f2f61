/**
 * One message as a 2026-07-28 target must receive it: the per-request `_meta` (version, the
 * client's capabilities and identity) in the body, and `Mcp-Method` / `Mcp-Name` headers that agree
 * with the body the target sees — after the gateway took its prefix off the name, so never the
 * client's header. Pure: the hop layer sends what this returns.
 */
import {
  encodeHeaderValue,
  META_CAPABILITIES,
  META_CLIENT_INFO,
  META_LOG_LEVEL,
  META_VERSION,
  NAMED_ITEM,
} from './era.js';
import { asObject, type JsonObject } from './jsonrpc.js';

export interface ModernHop {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The params as sent (a `tools/call`'s name and arguments, for its `Mcp-Param-*` headers). */
  readonly call?: JsonObject;
}

/**
 * `client` is what the gateway knows of its client (a legacy session's kept initialize params, or
 * the gateway's own identity for its probes): it fills the `_meta` fields a legacy client never
 * sent; a modern client's own `_meta` is kept, with the version this hop speaks.
 */
export function modernHop(
  body: string | Uint8Array,
  method: string,
  version: string,
  client: JsonObject,
  /** A 2025 client's logging/setLevel, carried in every request's `_meta`. */
  logLevel?: string,
  /** The hop's W3C trace context for `_meta` (a sampled trace), framed in the same pass. */
  traceMeta?: Readonly<Record<string, string>>,
): ModernHop {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const message = JSON.parse(text) as JsonObject;
  const params = asObject(message.params) ?? {};
  const meta = asObject(params._meta) ?? {};
  const framed: JsonObject = {
    ...message,
    params: {
      ...params,
      _meta: {
        ...meta,
        [META_VERSION]: version,
        [META_CAPABILITIES]: asObject(meta[META_CAPABILITIES]) ?? asObject(client.capabilities) ?? {},
        ...(meta[META_CLIENT_INFO] === undefined && client.clientInfo !== undefined
          ? { [META_CLIENT_INFO]: client.clientInfo }
          : {}),
        ...(logLevel !== undefined && meta[META_LOG_LEVEL] === undefined
          ? { [META_LOG_LEVEL]: logLevel }
          : {}),
        ...traceMeta,
      },
    },
  };
  const headers: Record<string, string> = { 'mcp-method': method };
  const field = NAMED_ITEM.get(method);
  const name = field === undefined ? undefined : params[field];
  if (typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name);
  return { body: JSON.stringify(framed), headers, call: params };
}

/**
 * The gateway's 2025 handshake as a 2026-07-28 server would also read it: the asked revision in the
 * `MCP-Protocol-Version` header and in `_meta`, with the capabilities and identity, and
 * `Mcp-Method`. A 2025 server ignores all three; a 2026-only server can tell what it is being asked
 * (and refuse it cleanly, after which the gateway speaks its revision).
 */
export function handshakeHop(body: string): ModernHop {
  const message = JSON.parse(body) as JsonObject;
  const params = asObject(message.params) ?? {};
  const version = typeof params.protocolVersion === 'string' ? params.protocolVersion : '';
  const framed: JsonObject = {
    ...message,
    params: {
      ...params,
      _meta: {
        ...asObject(params._meta),
        [META_VERSION]: version,
        [META_CAPABILITIES]: asObject(params.capabilities) ?? {},
        ...(params.clientInfo === undefined ? {} : { [META_CLIENT_INFO]: params.clientInfo }),
      },
    },
  };
  return {
    body: JSON.stringify(framed),
    headers: { 'mcp-method': 'initialize', ...(version ? { 'mcp-protocol-version': version } : {}) },
  };
}
