/**
 * The one place Node's HTTP server meets the web-standard handlers. Timeouts are set for MCP: a tool
 * call may stay silent for many minutes, so there is no request timeout; idle keep-alive sockets are
 * closed a little after typical load-balancer idle limits.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface HttpServer {
  readonly server: Server;
  readonly port: number;
  /** Stop accepting connections, close idle ones; resolves when every connection has ended. */
  close(): Promise<void>;
  /** Destroy every remaining connection (after the drain timeout). */
  destroy(): void;
}

export function listen(fetch: FetchHandler, port: number, host: string): Promise<HttpServer> {
  const server = createServer(
    { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 },
    getRequestListener((request) => fetch(request)),
  );
  server.timeout = 0;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = (server.address() as AddressInfo).port;
      resolve({
        server,
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
        destroy: () => server.closeAllConnections(),
      });
    });
  });
}
