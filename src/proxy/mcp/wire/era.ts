/**
 * Which MCP era a request belongs to, decided before anything else (issue 12): the 2026-07-28
 * revision is sessionless (every request carries its version in `MCP-Protocol-Version` and in
 * `_meta`), the 2025 revisions have `initialize` and `Mcp-Session-Id`. A request is modern only when
 * its version header names a 2026+ revision; an `initialize`, a session id, a 2025 version or none at
 * all is legacy (the spec lets a missing header mean 2025-03-26).
 *
 * For a modern request the headers must agree with the body (SEP-2243) before any policy runs:
 * `MCP-Protocol-Version` with `_meta`'s version, `Mcp-Method` with the method, and `Mcp-Name` with
 * the tool or prompt name or the resource URI (Base64 in the `=?base64?…?=` form when not ASCII).
 */
import { JsonRpcCode } from './errors.js';
import type { RequestHeaders } from './incoming.js';

/** The sessionless revisions: known by their date, from 2026 on. */
export const MODERN_VERSIONS = ['2026-07-28'] as const;
const MODERN: ReadonlySet<string> = new Set(MODERN_VERSIONS);

export const META_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
export const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo';
export const META_LOG_LEVEL = 'io.modelcontextprotocol/logLevel';
/** On a `subscriptions/listen` stream's messages: which listen request they answer. */
export const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

/** Methods the 2026-07-28 revision removed: a modern request naming one is answered 404 / -32601. */
export const REMOVED_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'logging/setLevel',
  'resources/subscribe',
  'resources/unsubscribe',
]);

/** A version header that names a sessionless revision (known or a later date). */
export function isModernVersion(version: string | null): boolean {
  if (version === null) return false;
  if (MODERN.has(version)) return true;
  return /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= '2026-01-01';
}

/** An `Mcp-Name` / `Mcp-Param-*` value: as it is when printable ASCII, else the Base64 sentinel form. */
export function encodeHeaderValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) && value.trim() === value
    ? value
    : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** A modern revision the gateway serves (a later one is answered UnsupportedProtocolVersion). */
export function isServedModern(version: string): boolean {
  return MODERN.has(version);
}

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

/** An `Mcp-Name` as sent: plain, or the Base64 sentinel form for names that are not ASCII. */
export function decodeHeaderValue(value: string): string | undefined {
  const sentinel = SENTINEL.exec(value);
  if (!sentinel) return value;
  const bytes = Buffer.from(sentinel[1]!, 'base64');
  const text = bytes.toString('utf8');
  // A round trip that changes the bytes means the Base64 or the UTF-8 was not valid.
  return Buffer.from(text, 'utf8').equals(bytes) && bytes.toString('base64') === sentinel[1]
    ? text
    : undefined;
}

/**
 * Methods that name one item — their `Mcp-Name` header carries it, and they are the ones that may
 * answer `input_required` — and where the body has it. A Map: a method from the wire must not find
 * the prototype.
 */
export const NAMED_ITEM: ReadonlyMap<string, 'name' | 'uri'> = new Map([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
]);

/** `Mcp-Param-*` headers one request may carry (each names one tool argument). */
export const MAX_PARAM_HEADERS = 64;

/** A 2026-07-28 request's `Mcp-Param-*` headers: a tool's own argument mirrors, for a modern target to check. */
export function paramHeaders(
  /** The request's `Mcp-Param-*` headers, and only those (raw-headers.ts: paramHeaderEntries). */
  params: readonly (readonly [string, string])[],
): Readonly<Record<string, string>> | undefined {
  return params.length === 0 ? undefined : Object.fromEntries(params);
}

export interface HeaderMismatch {
  readonly code: typeof JsonRpcCode.HeaderMismatch | typeof JsonRpcCode.InvalidParams;
  readonly message: string;
}

function entriesOf(headers: RequestHeaders): [string, string][] {
  const entries: [string, string][] = [];
  headers.forEach((value, name) => {
    entries.push([name, value]);
  });
  return entries;
}

/**
 * What disagrees between a modern request's headers and its body, or undefined. `message` is the
 * parsed JSON-RPC message (request or notification).
 */
export function headerMismatch(
  headers: RequestHeaders,
  message: { readonly method: string; readonly params?: Readonly<Record<string, unknown>> },
  /** The request's `Mcp-Param-*` headers (raw-headers.ts); all of `headers` when absent. */
  params: Iterable<readonly [string, string]> = entriesOf(headers),
): HeaderMismatch | undefined {
  const mismatch = (text: string): HeaderMismatch => ({
    code: JsonRpcCode.HeaderMismatch,
    message: `Header mismatch: ${text}`,
  });
  const version = headers.get('mcp-protocol-version');
  const meta = message.params?._meta;
  const bodyVersion =
    typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)[META_VERSION] : undefined;
  // A body without its version is malformed rather than in disagreement: Invalid params.
  if (typeof bodyVersion !== 'string')
    return {
      code: JsonRpcCode.InvalidParams,
      message: `Invalid params: _meta["${META_VERSION}"] is required with MCP-Protocol-Version ${String(version).slice(0, 40)}`,
    };
  if (bodyVersion !== version)
    return mismatch(
      `MCP-Protocol-Version is ${String(version).slice(0, 40)} but _meta says ${bodyVersion.slice(0, 40)}`,
    );
  const method = headers.get('mcp-method');
  if (method === null) return mismatch('the Mcp-Method header is required');
  if (method !== message.method)
    return mismatch(
      `Mcp-Method is ${JSON.stringify(method.slice(0, 100))} but the body's method is ${JSON.stringify(message.method.slice(0, 100))}`,
    );
  let count = 0;
  for (const [name, value] of params) {
    if (!name.startsWith('mcp-param-')) continue;
    count += 1;
    if (count > MAX_PARAM_HEADERS) return mismatch(`more than ${MAX_PARAM_HEADERS} Mcp-Param-* headers`);
    if (value.startsWith('=?base64?') && value.endsWith('?=') && decodeHeaderValue(value) === undefined)
      return mismatch(`${name.slice(0, 80)} is not valid Base64 of UTF-8 text`);
  }
  const field = NAMED_ITEM.get(message.method);
  if (field === undefined) return undefined;
  const sent = headers.get('mcp-name');
  if (sent === null) return mismatch(`the Mcp-Name header is required for ${message.method}`);
  const name = decodeHeaderValue(sent);
  if (name === undefined) return mismatch('Mcp-Name is not valid Base64 of UTF-8 text');
  const inBody = message.params?.[field];
  if (name !== inBody)
    return mismatch(
      `Mcp-Name is ${JSON.stringify(name.slice(0, 200))} but params.${field} is ${JSON.stringify(String(inBody).slice(0, 200))}`,
    );
  return undefined;
}
