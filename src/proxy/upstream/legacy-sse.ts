/**
 * Legacy HTTP+SSE upstream targets (MCP 2024-11-05): GET <path> opens an event stream whose first
 * `endpoint` event names where to POST; every message is POSTed there (202) and every answer,
 * notification and server request comes back on the stream, matched to requests by id.
 *
 * One connection per client session per target: `initialize` (no upstream session yet) opens it,
 * bounded by the caller's signal (the fan-out deadline); its key is handed back as the target's
 * session id, so later messages find it. A connection ends on DELETE (terminate), on drain
 * (close), when idle past `idleTimeoutMs`, or when the upstream drops the stream: then waiting
 * requests fail naming the target, and the next message gets `session-expired`, which makes the
 * multiplexer re-initialize the target on a new connection.
 *
 * The sealed session token cannot carry a live connection: after a process restart or a hop to
 * another replica the key is unknown here, the first message to the target gets `session-expired`
 * and the target is re-initialized lazily, on first use (its upstream state starts afresh).
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Endpoint, McpTarget, UpstreamCredential } from '../../shared/table.js';
import { toUpstreamError, UpstreamError } from './errors.js';
import { header, hostHeader } from './http-headers.js';
import { abortError, LegacySseConnection } from './legacy-sse-connection.js';
import { classifyOutgoing, originOf } from './legacy-sse-messages.js';
import {
  endpointKey,
  type UpstreamReply,
  type UpstreamRequest,
  type UpstreamTransport,
} from './transport.js';

/** Event streams hold a connection each for their whole life, so their pool is unbounded. */
const STREAM_POOL: Pool.Options = {
  connections: null,
  keepAliveTimeout: 30_000,
  bodyTimeout: 0,
  headersTimeout: 0,
  connectTimeout: 5_000,
};

const MESSAGE_POOL: Pool.Options = { ...STREAM_POOL, connections: 128 };

/** Bound on opening a connection when the caller gave no signal (it always should). */
const DEFAULT_OPEN_TIMEOUT_MS = 10_000;

export interface LegacySseOptions {
  /** A connection nothing used (no request, no listener) for this long is closed. */
  readonly idleTimeoutMs?: number;
}

export class LegacySseTransport implements UpstreamTransport {
  readonly #streamPools = new Map<string, Pool>();
  readonly #messagePools = new Map<string, Pool>();
  readonly #connections = new Map<string, LegacySseConnection>();
  readonly #idleTimeoutMs: number;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: LegacySseOptions = {}) {
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 30 * 60_000;
  }

  /** Open connections (for tests and metrics). */
  get size(): number {
    return this.#connections.size;
  }

  #pool(pools: Map<string, Pool>, endpoint: Endpoint, options: Pool.Options): Pool {
    const key = endpointKey(endpoint);
    let pool = pools.get(key);
    if (!pool) {
      const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
      pool = new Pool(`http://${host}:${endpoint.port}`, options);
      pools.set(key, pool);
    }
    return pool;
  }

  async post(request: UpstreamRequest): Promise<UpstreamReply> {
    const name = request.target.name;
    const outgoing = classifyOutgoing(request.body);
    let connection: LegacySseConnection;
    let opened = false;
    if (request.sessionId === undefined) {
      if (outgoing.kind !== 'request' || outgoing.method !== 'initialize') {
        throw new UpstreamError(name, 'session-expired', `target "${name}" has no event stream open`);
      }
      connection = await this.#open(request);
      opened = true;
    } else {
      const found = this.#connections.get(request.sessionId);
      if (!found || found.closed) {
        throw new UpstreamError(
          name,
          'session-expired',
          `target "${name}" has no event stream open for this session (it closed, or another replica opened it)`,
        );
      }
      connection = found;
    }
    try {
      return await this.#exchange(connection, outgoing, request);
    } catch (error) {
      // A failed initialize leaves nobody holding the new connection's key.
      if (opened) connection.close(toUpstreamError(name, error, request.signal));
      throw error;
    }
  }

  async #exchange(
    connection: LegacySseConnection,
    outgoing: ReturnType<typeof classifyOutgoing>,
    request: UpstreamRequest,
  ): Promise<UpstreamReply> {
    connection.lastUsed = performance.now();
    if (outgoing.kind === 'request') {
      const waiting = connection.expect(outgoing.id, outgoing.progressKey, request.signal);
      const body =
        waiting.upstreamId === outgoing.id
          ? request.body
          : JSON.stringify({ ...outgoing.message, id: waiting.upstreamId });
      try {
        await this.#send(connection, request.target, body, request.signal, request.credential);
      } catch (error) {
        waiting.abandon();
        throw error;
      }
      return waiting.reply;
    }
    let body = request.body;
    if (outgoing.kind === 'cancel') {
      const upstreamId = connection.upstreamIdOf(outgoing.requestId);
      if (upstreamId !== outgoing.requestId) {
        const params = { ...(outgoing.message.params as object), requestId: upstreamId };
        body = JSON.stringify({ ...outgoing.message, params });
      }
    }
    await this.#send(connection, request.target, body, request.signal, request.credential);
    return { kind: 'accepted', sessionId: connection.key };
  }

  /** POST one message to the connection's endpoint; the answer (if any) comes on the stream. */
  async #send(
    connection: LegacySseConnection,
    target: McpTarget,
    body: string | Uint8Array,
    signal: AbortSignal | undefined,
    credential: UpstreamCredential | undefined,
  ): Promise<void> {
    const name = target.name;
    let statusCode: number;
    try {
      const response = await this.#pool(this.#messagePools, connection.endpoint, MESSAGE_POOL).request({
        method: 'POST',
        path: connection.postPath!,
        headers: {
          host: hostHeader(target),
          'content-type': 'application/json',
          ...(credential ? { [credential.header]: credential.value } : {}),
        },
        body,
        signal,
      });
      statusCode = response.statusCode;
      response.body.dump().catch(() => {});
    } catch (error) {
      throw toUpstreamError(name, error, signal);
    }
    if (statusCode >= 200 && statusCode <= 299) return;
    if (statusCode === 404) {
      const error = new UpstreamError(
        name,
        'session-expired',
        `target "${name}" no longer knows its session`,
        404,
      );
      connection.close(error);
      throw error;
    }
    throw new UpstreamError(
      name,
      'status',
      `target "${name}" refused a message (HTTP ${statusCode})`,
      statusCode,
    );
  }

  /** GET the event stream and wait (bounded by the request's signal) for its endpoint event. */
  async #open(request: UpstreamRequest): Promise<LegacySseConnection> {
    const { target, endpoint } = request;
    const name = target.name;
    const host = hostHeader(target);
    const connection = new LegacySseConnection({
      key: randomUUID(),
      target: name,
      endpoint,
      streamUrl: `http://${host}${target.path}`,
      origins: [originOf(target.host, target.port), originOf(endpoint.address, endpoint.port)],
      send: (conn, payload) => this.#send(conn, target, payload, undefined, request.credential),
      onClose: (conn) => {
        if (this.#connections.get(conn.key) === conn) this.#connections.delete(conn.key);
      },
    });
    const fallback = request.signal ? undefined : AbortSignal.timeout(DEFAULT_OPEN_TIMEOUT_MS);
    const signal = request.signal ?? fallback!;
    const onAbort = () => connection.close(openAbortError(name, signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await this.#pool(this.#streamPools, endpoint, STREAM_POOL).request({
        method: 'GET',
        path: target.path,
        headers: {
          host,
          accept: 'text/event-stream',
          'cache-control': 'no-cache',
          ...(request.credential ? { [request.credential.header]: request.credential.value } : {}),
        },
        signal: connection.signal,
      });
      const type = (header(response.headers, 'content-type') ?? '').toLowerCase();
      if (response.statusCode !== 200 || !type.startsWith('text/event-stream')) {
        response.body.dump().catch(() => {});
        const status = response.statusCode;
        throw new UpstreamError(
          name,
          'status',
          status === 200
            ? `target "${name}" is not an SSE MCP server: its event stream answered with content type "${type || 'none'}"`
            : `target "${name}" refused its event stream (HTTP ${status})`,
          status,
        );
      }
      connection.attach(response.body as Readable);
      await connection.ready;
    } catch (error) {
      const failure = signal.aborted ? openAbortError(name, signal) : toUpstreamError(name, error);
      connection.close(failure);
      throw failure;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    this.#connections.set(connection.key, connection);
    this.#sweep();
    return connection;
  }

  async listen(request: Omit<UpstreamRequest, 'body'>): Promise<Readable | undefined> {
    const connection = request.sessionId === undefined ? undefined : this.#connections.get(request.sessionId);
    if (!connection || connection.closed) return undefined;
    return connection.listen(request.signal ?? new AbortController().signal);
  }

  async terminate(request: Omit<UpstreamRequest, 'body'>): Promise<void> {
    if (request.sessionId === undefined) return;
    const name = request.target.name;
    this.#connections
      .get(request.sessionId)
      ?.close(new UpstreamError(name, 'aborted', `the session with target "${name}" ended`));
  }

  /** Event streams to a departed endpoint end as usual (terminate, idle, upstream); their pool closes after. */
  retain(endpoints: ReadonlySet<string>): void {
    for (const pools of [this.#streamPools, this.#messagePools]) {
      for (const [key, pool] of pools) {
        if (endpoints.has(key)) continue;
        pools.delete(key);
        pool.close().catch(() => {});
      }
    }
  }

  async close(force = false): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    for (const connection of [...this.#connections.values()]) {
      const name = connection.target;
      connection.close(
        new UpstreamError(name, 'aborted', `the gateway closed its stream to target "${name}"`),
      );
    }
    const pools = [...this.#streamPools.values(), ...this.#messagePools.values()];
    this.#streamPools.clear();
    this.#messagePools.clear();
    await Promise.allSettled(pools.map((pool) => (force ? pool.destroy() : pool.close())));
  }

  /** Start (once) the timer that closes connections sessions no longer use. */
  #sweep(): void {
    if (this.#sweeper) return;
    const every = Math.max(1_000, Math.min(this.#idleTimeoutMs / 4, 60_000));
    this.#sweeper = setInterval(() => {
      const now = performance.now();
      for (const connection of [...this.#connections.values()]) {
        if (!connection.isIdle(now, this.#idleTimeoutMs)) continue;
        const name = connection.target;
        connection.close(new UpstreamError(name, 'aborted', `the stream to target "${name}" was idle`));
      }
    }, every);
    this.#sweeper.unref();
  }
}

/** Why opening failed when the caller's signal fired: a deadline names the missing endpoint event. */
function openAbortError(target: string, signal: AbortSignal): UpstreamError {
  const error = abortError(target, signal);
  if (error.failure !== 'timeout') return error;
  return new UpstreamError(
    target,
    'timeout',
    `target "${target}" did not open its SSE stream and announce its message endpoint in time`,
  );
}
