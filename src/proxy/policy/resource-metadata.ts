/**
 * RFC 9728 protected resource metadata for routes with JWT authentication, served at
 * `/.well-known/oauth-protected-resource<route path>` on the route's own listener: the resource is
 * the URL the client used, the authorization servers are the policy's JWT issuers. Public and
 * readable from any origin (browser-based clients fetch it before they have a token).
 */
import type { JwtAuthentication } from '../../shared/table.js';
import { jsonReply, type Reply } from '../mcp/wire/reply.js';

export const METADATA_PREFIX = '/.well-known/oauth-protected-resource';

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
  'access-control-allow-headers': 'content-type, mcp-protocol-version',
} as const;

/** The metadata URL a 401 points a client to, for a request to `path`. */
export function metadataUrl(origin: string, path: string): string {
  return `${origin}${METADATA_PREFIX}${path === '/' ? '' : path}`;
}

export function metadataDocument(jwt: JwtAuthentication, resource: string): Record<string, unknown> {
  const bearer: string[] = 'header' in jwt.location ? ['header'] : 'query' in jwt.location ? ['query'] : [];
  return {
    resource,
    authorization_servers: [...new Set(jwt.providers.map((p) => p.issuer))],
    bearer_methods_supported: bearer,
    ...jwt.resourceMetadata,
    // The resource is what the client reached, whatever the policy says: tokens are bound to it.
    ...(typeof jwt.resourceMetadata.resource === 'string' ? {} : { resource }),
  };
}

export function metadataResponse(jwt: JwtAuthentication, resource: string): Reply {
  return jsonReply(metadataDocument(jwt, resource), 200, { 'cache-control': 'max-age=300', ...CORS });
}

export function metadataPreflight(): Reply {
  return { kind: 'empty', status: 204, headers: { ...CORS, 'access-control-max-age': '86400' } };
}
