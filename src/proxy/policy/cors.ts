/**
 * `traffic.cors`, for browser-based MCP clients: a route's policy answers preflights and marks its
 * answers readable by the origins it allows. An origin a route allows passes the gateway's Origin
 * check too (rebinding.ts), as if it were in --allowed-origins for that route only. MCP clients
 * must read `Mcp-Session-Id` and `WWW-Authenticate`, so those are always exposed.
 */
import type { CorsPolicy } from '../../shared/table.js';
import { type Reply, withHeaders } from '../mcp/wire/reply.js';

const ALWAYS_EXPOSED = ['mcp-session-id', 'www-authenticate', 'retry-after'];
const DEFAULT_METHODS = 'GET, POST, DELETE, OPTIONS';
const DEFAULT_HEADERS = 'authorization, content-type, mcp-session-id, mcp-protocol-version, last-event-id';

export function corsAllows(cors: CorsPolicy, origin: string): boolean {
  return cors.allowOrigins.includes('*') || cors.allowOrigins.includes(origin);
}

/** The Access-Control-Allow-Origin value: the origin itself when credentials are allowed (never `*` then). */
function allowOrigin(cors: CorsPolicy, origin: string): string {
  return cors.allowOrigins.includes('*') && !cors.allowCredentials ? '*' : origin;
}

/** The answer to a preflight (`OPTIONS` with Access-Control-Request-Method) from an allowed origin. */
export function preflight(cors: CorsPolicy, origin: string): Reply {
  const headers: Record<string, string> = {
    'access-control-allow-origin': allowOrigin(cors, origin),
    'access-control-allow-methods':
      cors.allowMethods.length === 0 ? DEFAULT_METHODS : cors.allowMethods.join(', '),
    'access-control-allow-headers':
      cors.allowHeaders.length === 0 ? DEFAULT_HEADERS : cors.allowHeaders.join(', '),
    vary: 'Origin',
  };
  if (cors.allowCredentials) headers['access-control-allow-credentials'] = 'true';
  if (cors.maxAgeSec !== undefined) headers['access-control-max-age'] = String(cors.maxAgeSec);
  return { kind: 'empty', status: 204, headers };
}

/** Mark an answer readable by the (allowed) origin that asked. */
export function withCors(reply: Reply, cors: CorsPolicy, origin: string): Reply {
  const headers: Record<string, string> = {
    'access-control-allow-origin': allowOrigin(cors, origin),
    'access-control-expose-headers': [...new Set([...ALWAYS_EXPOSED, ...cors.exposeHeaders])].join(', '),
  };
  if (cors.allowCredentials) headers['access-control-allow-credentials'] = 'true';
  const vary = reply.headers?.vary;
  headers.vary = vary ? `${vary}, Origin` : 'Origin';
  return withHeaders(reply, headers);
}
