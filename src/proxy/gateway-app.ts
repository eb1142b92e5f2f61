/**
 * The handler behind every listener port: pick the table snapshot once, match a route on it, and
 * hand MCP backends to the MCP service. Errors the gateway answers itself are JSON-RPC shaped, so an
 * MCP client shows the message instead of a parse failure.
 */
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { Listener, McpBackend, RoutePolicy, RoutingTable } from '../shared/table.js';
import type { Access } from './mcp/hop/context.js';
import { JsonRpcCode, rpcErrorReply } from './mcp/wire/errors.js';
import type { HttpRequest, IncomingRequest } from './mcp/wire/incoming.js';
import { isReply, type Reply } from './mcp/wire/reply.js';
import { corsAllows, preflight, withCors } from './policy/cors.js';
import { publicOrigin } from './policy/forwarded.js';
import type { Guards } from './policy/guards.js';
import { METADATA_PREFIX, metadataPreflight, metadataResponse } from './policy/resource-metadata.js';
import { hostProblem, type OriginPolicy, originProblem } from './rebinding.js';
import { hostOf, matchRoute } from './route-match.js';
import type { Connection } from './server.js';

/** What the proxy needs from the MCP layer (src/proxy/mcp implements it). */
export interface McpHandler {
  handle(
    request: IncomingRequest,
    backend: McpBackend,
    route: { id: string; routeName: string },
    /** Aborted when the client goes away. */
    signal: AbortSignal,
    /** What the route's policies decided about the caller (absent: no policy). */
    access?: Access,
  ): Promise<Reply>;
}

export interface GatewayAppDeps {
  readonly port: number;
  /** The listener is bound to loopback: the Host must be loopback too (see rebinding.ts). */
  readonly loopback: boolean;
  /** Browser origins allowed besides loopback ones (--allowed-origins), on every listener. */
  readonly origins: OriginPolicy;
  readonly table: () => RoutingTable;
  readonly mcp: McpHandler;
  /** The routing table's AgentgatewayPolicies, ready to run. */
  readonly guards: Guards;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** An error the gateway answers before any MCP handling (no route, rebinding, a failed route). */
export function gatewayError(
  status: number,
  message: string,
  code: number = JsonRpcCode.InternalError,
): Reply {
  return rpcErrorReply(status, code, message);
}

const NO_QUERY = new URLSearchParams();

/**
 * Path and query of a request URL. The URL comes already normalised from the HTTP layer (dot
 * segments resolved, odd characters escaped), so slicing is equivalent to `new URL()`, minus a
 * parse per request.
 */
export function pathAndQuery(url: string): { path: string; query: URLSearchParams } {
  const scheme = url.indexOf('://');
  const slash = url.indexOf('/', scheme === -1 ? 0 : scheme + 3);
  if (slash === -1) return { path: '/', query: NO_QUERY };
  const end = url.indexOf('#', slash);
  const target = end === -1 ? url.slice(slash) : url.slice(slash, end);
  const mark = target.indexOf('?');
  if (mark === -1) return { path: target, query: NO_QUERY };
  return { path: target.slice(0, mark), query: new URLSearchParams(target.slice(mark + 1)) };
}

/**
 * The handler behind one listener port. Plain code rather than a router: every request takes the
 * same path (pick the table, match a route, hand over), and it runs once per MCP message.
 */
export function createGatewayApp(deps: GatewayAppDeps): {
  serve: (request: IncomingRequest, connection: Connection) => Promise<Reply> | Reply;
} {
  const refuse = (message: string): Reply => {
    deps.metrics.limitRejected('origin');
    return gatewayError(403, message, JsonRpcCode.InvalidRequest);
  };
  let loopbackHost: string | null = null;
  const serve = (request: IncomingRequest, connection: Connection): Promise<Reply> | Reply => {
    if (deps.loopback) {
      const host = request.headers.get('host');
      // Clients send the same Host on every request: decide it once (a bad one is never kept).
      const problem = host !== null && host === loopbackHost ? undefined : hostProblem(host);
      if (problem === undefined) loopbackHost = host;
      if (problem) {
        return refuse(
          `DNS-rebinding protection: ${problem}; this listener is bound to loopback, so address it as localhost, 127.0.0.1 or [::1]`,
        );
      }
    }
    const table = deps.table(); // one snapshot for the whole request
    const listener = table.listeners.find((l) => l.port === deps.port);
    const { path, query } = pathAndQuery(request.url);
    // RFC 9728 metadata is public and read by browser clients before they hold a token: any Origin.
    if (
      listener &&
      path.startsWith(METADATA_PREFIX) &&
      (request.method === 'GET' || request.method === 'OPTIONS')
    ) {
      const served = protectedResource(
        request,
        listener,
        path.slice(METADATA_PREFIX.length) || '/',
        connection,
      );
      if (served) return served;
    }
    const origin = request.headers.get('origin');
    // A preflight asks for the method the real request will use: match the route for that.
    const asked = request.method === 'OPTIONS' ? request.headers.get('access-control-request-method') : null;
    const route =
      listener &&
      matchRoute(listener, {
        host: hostOf(request.headers.get('host')),
        path,
        method: asked ?? request.method,
        headers: request.headers,
        query,
      });
    const cors = origin !== null ? route?.policy?.cors : undefined;
    const corsAllowed = cors !== undefined && corsAllows(cors, origin!);
    if (origin !== null && !corsAllowed) {
      const problem = originProblem(origin, deps.origins);
      if (problem) return refuse(problem);
    }
    if (corsAllowed && asked !== null) return preflight(cors!, origin!);
    if (!listener) return gatewayError(404, `no Gateway listener is configured on port ${deps.port}`);
    if (!route) {
      deps.metrics.requests.inc({
        route: 'none',
        backend: 'none',
        method: request.method,
        outcome: 'rejected',
      });
      return gatewayError(404, `no HTTPRoute on port ${deps.port} matches ${request.method} ${path}`);
    }
    if (route.action.type === 'error') {
      deps.metrics.requests.inc({
        route: route.id,
        backend: 'none',
        method: request.method,
        outcome: 'rejected',
      });
      return gatewayError(route.action.status, `route ${route.routeName}: ${route.action.message}`);
    }
    const { backend } = route.action;
    const target = { id: route.id, routeName: route.routeName };
    if (!route.policy) return deps.mcp.handle(request, backend, target, connection.signal);
    if (corsAllowed) {
      const answer = admitAndHandle(request, route.policy, backend, target, path, query, connection);
      const mark = (reply: Reply) => withCors(reply, cors!, origin!);
      return answer instanceof Promise ? answer.then(mark) : mark(answer);
    }
    return admitAndHandle(request, route.policy, backend, target, path, query, connection);
  };
  const admitAndHandle = (
    request: IncomingRequest,
    policy: RoutePolicy,
    backend: McpBackend,
    target: { id: string; routeName: string },
    path: string,
    query: URLSearchParams,
    connection: Connection,
  ): Promise<Reply> | Reply => {
    const guarded = {
      routeName: target.routeName,
      backendId: backend.id,
      targets: () => backend.targets.map((t) => t.name).join(', '),
    };
    const admitted = deps.guards.admit(request, policy, guarded, path, query, connection.remoteAddress);
    const handle = (a: Access | Reply) =>
      isReply(a) ? a : deps.mcp.handle(request, backend, target, connection.signal, a);
    return admitted instanceof Promise ? admitted.then(handle) : handle(admitted);
  };
  /** The metadata of the protected route at `path`, if one is there (else the request goes on). */
  const protectedResource = (
    request: HttpRequest,
    listener: Listener,
    path: string,
    connection: Connection,
  ): Reply | undefined => {
    const route = matchRoute(listener, {
      host: hostOf(request.headers.get('host')),
      path,
      method: 'POST',
      headers: request.headers,
      query: new URLSearchParams(),
    });
    const jwt = route?.policy?.jwt;
    if (!jwt) return undefined;
    if (request.method === 'OPTIONS') return metadataPreflight();
    const origin = publicOrigin(request, connection.remoteAddress, deps.guards.options.trustedProxies);
    return metadataResponse(jwt, `${origin}${path}`);
  };
  const failed = (err: unknown): Reply => {
    deps.logger.error({ err, port: deps.port }, 'unhandled error while serving a request');
    return gatewayError(500, 'internal gateway error; see the gateway logs');
  };
  return {
    serve: (request, connection) => {
      try {
        const reply = serve(request, connection);
        return reply instanceof Promise ? reply.catch(failed) : reply;
      } catch (err) {
        return failed(err);
      }
    },
  };
}
