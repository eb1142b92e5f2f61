/**
 * The one place Node's HTTP server meets the web-standard handlers. Timeouts are set for MCP: a tool
 * call may stay silent for many minutes, so there is no request timeout; idle keep-alive sockets are
 * closed a little after typical load-balancer idle limits.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';

/** The client's connection a request came on. */
export interface Connection {
  /**
   * Aborted when the client's connection closes. One per connection rather than per request (HTTP/1.1
   * runs one request at a time on a connection, and a client gives up on one by closing it): a
   * per-request AbortController costs more than the rest of the request bookkeeping together.
   */
  readonly signal: AbortSignal;
}

export type FetchHandler = (request: Request, connection: Connection) => Response | Promise<Response>;

interface ConnectionState extends Connection {
  /** Requests in flight on this connection. */
  inFlight: number;
}

export interface HttpServer {
  readonly server: Server;
  readonly port: number;
  /** Stop accepting connections, close idle ones; resolves when every connection has ended. */
  close(): Promise<void>;
  /** Destroy every remaining connection (after the drain timeout). */
  destroy(): void;
}

export function listen(fetch: FetchHandler, port: number, host: string): Promise<HttpServer> {
  // Requests in flight per connection. Node's closeIdleConnections() leaves alone a socket that was
  // opened but never sent a request (HTTP clients open spare connections), which would hold a drain
  // open until headersTimeout; with this count the drain can close every connection without work.
  const connections = new Map<Socket, ConnectionState>();
  const serve = getRequestListener((request, env) => {
    const state = connections.get(env.incoming.socket);
    return fetch(request, state ?? { signal: AbortSignal.abort() });
  });
  const server = createServer(
    { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 },
    (req, res) => {
      const state = connections.get(req.socket);
      if (state) {
        state.inFlight += 1;
        res.once('close', () => {
          state.inFlight -= 1;
        });
      }
      return serve(req, res);
    },
  );
  server.timeout = 0;
  server.on('connection', (socket: Socket) => {
    const controller = new AbortController();
    connections.set(socket, { inFlight: 0, signal: controller.signal });
    socket.once('close', () => {
      connections.delete(socket);
      controller.abort(new DOMException('the client closed its connection', 'AbortError'));
    });
  });
  const closeUnused = () => {
    for (const [socket, state] of connections) if (state.inFlight === 0) socket.destroy();
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
