/**
 * The one place Node's HTTP server is set up, and where connection-level limits live. Timeouts
 * are set for MCP: a tool call may stay silent for many minutes once its request has arrived, so
 * only the request's *arrival* is timed (--request-timeout, --headers-timeout); idle keep-alive
 * sockets are closed a little after typical load-balancer idle limits.
 */
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { formatDuration } from '../shared/deadline.js';
import type { LimitName } from '../shared/metrics.js';
import { JsonRpcCode } from './mcp/wire/errors.js';

/** The client's connection a request came on. */
export interface Connection {
  /**
   * Aborted when the client's connection closes (an AbortError), or when a drain runs out of time
   * (the reason given to HttpServer.abort()). One per connection rather than per request (HTTP/1.1
   * runs one request at a time on a connection, and a client gives up on one by closing it): a
   * per-request AbortController costs more than the rest of the request bookkeeping together.
   */
  readonly signal: AbortSignal;
  /** The peer's address as the socket reports it (a proxy's, behind one); '' when unknown. */
  readonly remoteAddress: string;
}

/**
 * What a port serves: node:http's request and response, and the connection they came on. The
 * listener ports answer with Replies (reply-writer.ts: `serveReplies`), the admin port with a Hono
 * app (`serveFetch`).
 */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse, connection: Connection) => void;

/** A web-standard fetch handler (the admin port's Hono app) as a RequestHandler. */
export function serveFetch(fetch: (request: Request) => Response | Promise<Response>): RequestHandler {
  const serve = getRequestListener((request) => fetch(request));
  return (req, res) => {
    void serve(req, res);
  };
}

/** A request on a connection already closed (it arrived as the socket ended). */
const CLOSED: Connection = { signal: AbortSignal.abort(), remoteAddress: '' };

interface ConnectionState extends Connection {
  readonly controller: AbortController;
  /** Requests in flight on this connection. */
  inFlight: number;
  /** When the connection last had nothing in flight (performance.now()). */
  idleSince: number;
  /**
   * During a drain: the socket's bytesRead when a sweep first found it unused; it is closed on a
   * later sweep only if nothing arrived since (see closeUnused).
   */
  drainMark: number | undefined;
  /** The latest request, to tell a slow body (request timeout) from slow headers. */
  request: IncomingMessage | undefined;
  /**
   * Responses not finished yet: an error answer must not be written into one that has begun, and a
   * drain adds `Connection: close` to those that sent no headers.
   */
  readonly responses: Set<ServerResponse>;
}

/** A response's connection bookkeeping, kept on the response: one shared close listener, no closure per request. */
const CONNECTION = Symbol('connection');
type TrackedResponse = ServerResponse & { [CONNECTION]?: ConnectionState };

function responseClosed(this: TrackedResponse): void {
  const state = this[CONNECTION];
  if (state === undefined) return;
  state.inFlight -= 1;
  state.responses.delete(this);
  if (state.inFlight === 0) state.idleSince = performance.now();
}

/**
 * How long a drain leaves an idle keep-alive connection open before closing it. A proxy in front
 * (nginx's upstream keepalive, a cloud load balancer) may be sending the next request into an idle
 * connection at the very moment we close it, and it cannot safely retry a POST it already sent: that
 * call is lost. Responses during a drain carry `Connection: close`, so a connection the proxy uses
 * closes cleanly after its answer; one it has not touched for this long is very unlikely to be picked
 * at the moment we close it.
 */
export const IDLE_GRACE_MS = 1000;

/** Event-loop turns a drain waits for the accept queue to run dry before closing the listening socket. */
const MAX_ACCEPT_TURNS = 50;

/** How often Node checks request/headers deadlines (its default, 30 s, would make a 10 s limit 40 s). */
const DEADLINE_CHECK_MS = 500;
/** Listeners one connection's abort signal may hold before Node warns of a leak. */
const CONNECTION_SIGNAL_LISTENERS = 256;

/** Retry-After of a connection refused for --max-client-connections. */
const RETRY_AFTER_S = 5;

export interface ServerOptions {
  /** How long a whole request (headers and body) may take to arrive (default 30 s, as the flag); 0: no limit. */
  readonly requestTimeoutMs?: number;
  /** How long the headers may take to arrive, at most requestTimeoutMs (default 10 s); 0: no limit. */
  readonly headersTimeoutMs?: number;
  /** Connections per client address, shared by the listener ports; none for the admin port. */
  readonly clients?: ClientConnections;
  /** Called once per request or connection refused or cut by a limit (for the metric). */
  readonly onLimit?: (limit: LimitName) => void;
}

export interface HttpServer {
  readonly server: Server;
  readonly port: number;
  /**
   * Drain: stop accepting connections at once, send `Connection: close` with every response from now
   * on, and close connections idle for IDLE_GRACE_MS. Resolves when every connection has ended.
   */
  close(): Promise<void>;
  /**
   * Abort the signal of every connection with a request in flight, with `reason` (the calls then
   * answer with an error naming it); returns how many.
   */
  abort(reason: unknown): number;
  /** Destroy every remaining connection (after the drain timeout). */
  destroy(): void;
}

/**
 * Open connections per client address across the listener ports. An address leaves the map when its
 * last connection closes, so the map never holds more entries than there are open connections.
 */
export class ClientConnections {
  readonly #open = new Map<string, number>();

  /** At most `max` connections per address; 0: no limit. */
  constructor(readonly max: number) {}

  /** Take a connection slot for `address`; false when it already holds `max`. */
  acquire(address: string): boolean {
    const open = this.#open.get(address) ?? 0;
    if (this.max > 0 && open >= this.max) return false;
    this.#open.set(address, open + 1);
    return true;
  }

  release(address: string): void {
    const open = (this.#open.get(address) ?? 0) - 1;
    if (open > 0) this.#open.set(address, open);
    else this.#open.delete(address);
  }

  /** Addresses holding at least one connection. */
  get addresses(): number {
    return this.#open.size;
  }
}

/** A whole HTTP/1.1 response written straight to a socket (no request was parsed, or it never finished). */
function rawResponse(status: string, message: string, code: number, extra = ''): string {
  const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } });
  return (
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `${extra}Connection: close\r\n\r\n${body}`
  );
}

/** Node's own answers to malformed requests, kept once we handle 'clientError' ourselves. */
const PARSE_ERRORS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n',
};
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';

/** A connection over --max-client-connections: answered at once and closed, without reading a request. */
function refuseConnection(socket: Socket, address: string, max: number): void {
  socket.on('error', () => {});
  socket.end(
    rawResponse(
      '503 Service Unavailable',
      `too many connections from ${address}: at most ${max} may be open at once (--max-client-connections); ` +
        `reuse or close idle connections and retry after ${RETRY_AFTER_S} s. Clients behind one proxy share its address`,
      JsonRpcCode.InvalidRequest,
      `Retry-After: ${RETRY_AFTER_S}\r\n`,
    ),
  );
  // Read and drop what the client sends: closing with unread data would reset the connection before
  // the client reads the answer. A client that keeps it open is cut after a moment.
  socket.resume();
  setTimeout(() => socket.destroy(), 2000).unref();
}

export function listen(
  handle: RequestHandler,
  port: number,
  host: string,
  options: ServerOptions = {},
): Promise<HttpServer> {
  const { requestTimeoutMs = 30_000, headersTimeoutMs = 10_000, clients, onLimit } = options;
  // Requests in flight per connection. Node's closeIdleConnections() leaves alone a socket that was
  // opened but never sent a request (HTTP clients open spare connections), which would hold a drain
  // open until headersTimeout; with this count the drain can close every connection without work.
  const connections = new Map<Socket, ConnectionState>();
  let draining = false;
  /** Connections accepted so far: the drain closes the listening socket after a turn that added none. */
  let accepted = 0;
  const server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: headersTimeoutMs,
      connectionsCheckingInterval: DEADLINE_CHECK_MS,
      keepAliveTimeout: 65_000,
    },
    (req, res) => {
      const state = connections.get(req.socket);
      if (state) {
        state.inFlight += 1;
        state.request = req;
        state.responses.add(res);
        (res as TrackedResponse)[CONNECTION] = state;
        res.once('close', responseClosed);
      }
      // The client (or the proxy in front) must not send another request on this connection.
      if (draining) res.setHeader('connection', 'close');
      handle(req, res, state ?? CLOSED);
    },
  );
  server.timeout = 0;
  // Node's close() destroys idle keep-alive connections at once, racing a proxy that is sending into
  // them; our drain closes them after IDLE_GRACE_MS instead (closeUnused below). (close() also stops
  // the request-timeout checks: the drain deadline bounds what is left.)
  server.closeIdleConnections = () => {};

  // Node's own connection listener sets up the HTTP parser; a connection over the per-address cap is
  // answered before it gets one, so no request on it is ever parsed or served.
  const [parse, ...others] = server.listeners('connection') as ((socket: Socket) => void)[];
  if (!parse || others.length > 0) throw new Error('node:http: expected exactly one connection listener');
  server.removeListener('connection', parse);
  server.on('connection', (socket: Socket) => {
    accepted += 1;
    const remote = socket.remoteAddress;
    if (clients && remote !== undefined) {
      if (!clients.acquire(remote)) {
        onLimit?.('client_connections');
        refuseConnection(socket, remote, clients.max);
        return;
      }
    }
    const address = clients ? remote : undefined;
    const controller = new AbortController();
    // Every upstream call of the connection's request listens on it: a batch or a fan-out adds
    // several at once, by design (bounded by --max-batch-size and the backend's targets).
    setMaxListeners(CONNECTION_SIGNAL_LISTENERS, controller.signal);
    const state: ConnectionState = {
      controller,
      signal: controller.signal,
      remoteAddress: remote ?? '',
      inFlight: 0,
      idleSince: performance.now(),
      drainMark: undefined,
      request: undefined,
      responses: new Set(),
    };
    connections.set(socket, state);
    socket.once('close', () => {
      connections.delete(socket);
      if (address !== undefined) clients?.release(address);
      controller.abort(new DOMException('the client closed its connection', 'AbortError'));
    });
    parse.call(server, socket);
  });

  // Node calls this for a request that did not arrive in time (and for unparsable ones); with a
  // listener it writes nothing itself, so the answers are ours.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const state = connections.get(socket);
    const started = state ? [...state.responses].some((res) => res.headersSent) : false;
    let answer: string | undefined;
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // Headers done and the body still coming: the request timeout; otherwise the headers timeout.
      const body = state?.request !== undefined && !state.request.complete;
      onLimit?.(body ? 'request_timeout' : 'headers_timeout');
      answer = body
        ? rawResponse(
            '408 Request Timeout',
            `the request body did not arrive within ${formatDuration(requestTimeoutMs)} of the request's start (--request-timeout); send it at once, or raise --request-timeout`,
            JsonRpcCode.LimitExceeded,
          )
        : rawResponse(
            '408 Request Timeout',
            `the request headers did not arrive within ${formatDuration(headersTimeoutMs)} (--headers-timeout); send them at once, or raise --headers-timeout`,
            JsonRpcCode.LimitExceeded,
          );
    } else if (error.code !== 'ECONNRESET') {
      answer = PARSE_ERRORS[error.code ?? ''] ?? BAD_REQUEST;
    }
    if (answer !== undefined && socket.writable && !started) socket.write(answer);
    socket.destroy();
  });

  /**
   * Close connections with nothing in flight once idle for IDLE_GRACE_MS, in two sweeps: the first
   * notes how many bytes the socket had read, the next closes it only if that has not changed. A
   * request a proxy sent into the connection meanwhile may still sit unread in the kernel when a
   * sweep runs (the event loop is busy under load); closing then would reset it, and the proxy
   * cannot retry a POST. Between two sweeps the loop has polled, so the request has been read and
   * counts as in flight. (What arrives after the last poll before a close is still lost: no server
   * can close a keep-alive connection without that race; it is now one loop turn wide.)
   */
  const closeUnused = (since: number) => {
    const now = performance.now();
    for (const [socket, state] of connections) {
      if (state.inFlight > 0 || now - Math.max(state.idleSince, since) < IDLE_GRACE_MS) {
        state.drainMark = undefined;
        continue;
      }
      const read = socket.bytesRead;
      if (state.drainMark === read) socket.destroy();
      else state.drainMark = read;
    }
  };
  /**
   * Close the listening socket once a turn of the event loop accepted no new connection. Closing it
   * resets the connections the kernel has queued but Node has not accepted yet, and a proxy in front
   * may already have sent a request on one: a POST it cannot retry. Under load (or when the signal
   * arrives while the loop is busy) that queue is rarely empty, so the drain first lets a poll phase
   * accept what is queued (served with `Connection: close`), and closes from the check phase after a
   * poll that brought nothing new; at most MAX_ACCEPT_TURNS turns, so a stream of new connections
   * cannot hold the listener open.
   */
  const stopAccepting = (closed: () => void) => {
    let turns = 0;
    let seen = accepted;
    const check = () => {
      turns += 1;
      if (accepted !== seen && turns < MAX_ACCEPT_TURNS) {
        seen = accepted;
        setImmediate(check);
        return;
      }
      server.close(closed);
    };
    // The first check runs after the poll phase that follows now.
    setImmediate(() => {
      seen = accepted;
      setImmediate(check);
    });
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
            draining = true;
            for (const state of connections.values()) {
              for (const res of state.responses) if (!res.headersSent) res.setHeader('connection', 'close');
            }
            const since = performance.now();
            // Connections that finish their last response during the drain become unused only then:
            // sweep until every connection has ended.
            const sweep = setInterval(() => closeUnused(since), 100);
            stopAccepting(() => {
              clearInterval(sweep);
              done();
            });
          }),
        abort: (reason) => {
          let aborted = 0;
          for (const state of connections.values()) {
            if (state.inFlight === 0 || state.signal.aborted) continue;
            state.controller.abort(reason);
            aborted += 1;
          }
          return aborted;
        },
        destroy: () => {
          for (const socket of connections.keys()) socket.destroy();
          server.closeAllConnections();
        },
      });
    });
  });
}
