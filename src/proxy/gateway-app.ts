/**
 * The Hono app behind every listener port: pick the table snapshot once, match a route on it, and
 * hand MCP backends to the MCP service. Errors the gateway answers itself are JSON-RPC shaped, so an
 * MCP client shows the message instead of a parse failure.
 */
import { Hono } from 'hono';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { McpBackend, RoutingTable } from '../shared/table.js';
import { hostOf, matchRoute } from './route-match.js';

/** What the proxy needs from the MCP layer (src/proxy/mcp implements it). */
export interface McpHandler {
  handle(request: Request, backend: McpBackend, route: { id: string; routeName: string }): Promise<Response>;
}

export interface GatewayAppDeps {
  readonly port: number;
  readonly table: () => RoutingTable;
  readonly mcp: McpHandler;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export function gatewayError(status: number, message: string, code = -32603): Response {
  return Response.json({ jsonrpc: '2.0', id: null, error: { code, message } }, { status });
}

export function createGatewayApp(deps: GatewayAppDeps): Hono {
  const app = new Hono();
  app.all('*', (c) => {
    const request = c.req.raw;
    const table = deps.table(); // one snapshot for the whole request
    const listener = table.listeners.find((l) => l.port === deps.port);
    if (!listener) return gatewayError(404, `no Gateway listener is configured on port ${deps.port}`);
    const url = new URL(request.url);
    const route = matchRoute(listener, {
      host: hostOf(request.headers.get('host')),
      path: url.pathname,
      method: request.method,
      headers: request.headers,
      query: url.searchParams,
    });
    if (!route) {
      deps.metrics.requests.inc({
        route: 'none',
        backend: 'none',
        method: request.method,
        outcome: 'rejected',
      });
      return gatewayError(404, `no HTTPRoute on port ${deps.port} matches ${request.method} ${url.pathname}`);
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
    return deps.mcp.handle(request, route.action.backend, { id: route.id, routeName: route.routeName });
  });
  app.onError((err) => {
    deps.logger.error({ err, port: deps.port }, 'unhandled error while serving a request');
    return gatewayError(500, 'internal gateway error; see the gateway logs');
  });
  return app;
}
