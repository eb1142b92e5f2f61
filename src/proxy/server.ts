/**
 * The one place Node's HTTP server meets the web-standard handlers. Timeouts are set for MCP: a tool
 * call may stay silent for many minutes, so there is no request timeout; idle keep-alive sockets are
 * closed a little after typical load-balancer idle limits.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
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
  // Requests in flight per connection. Node's closeIdleConnections() leaves alone a socket that was
  // opened but never sent a request (HTTP clients open spare connections), which would hold a drain
  // open until headersTimeout; with this count the drain can close every connection without work.
  const inFlight = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    res.once('close', () => {
      if (inFlight.has(socket)) inFlight.set(socket, inFlight.get(socket)! - 1);
    });
  });
  const closeUnused = () => {
    for (const [socket, count] of inFlight) if (count === 0) socket.destroy();
  };
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
            // Connections that finish their last response during the drain become unused only then:
            // sweep until every connection has ended.
            const sweep = setInterval(closeUnused, 50);
            server.close(() => {
              clearInterval(sweep);
              done();
            });
            closeUnused();
          }),
        destroy: () => server.closeAllConnections(),
      });
    });
  });
}
