/**
 * Streamable HTTP upstream client over undici: one keep-alive Pool per endpoint (and one for its
 * event streams), closed when the endpoint leaves the routing table. undici's own body and header
 * timeouts are off because a silent long tools/call is normal; deadlines come from the caller's
 * AbortSignal (the fan-out deadline, or the client going away).
 */
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Endpoint } from '../../shared/table.js';
import { toUpstreamError, UpstreamError } from './errors.js';
import { header, hostHeader } from './http-headers.js';
import { dispatchPost } from './reply-handler.js';
import {
  endpointKey,
  type UpstreamReply,
  type UpstreamRequest,
  type UpstreamTransport,
} from './transport.js';

/** Key prefix of an endpoint's event-stream pool. */
const STREAMS = 'GET ';

export const POOL_OPTIONS: Pool.Options = {
  connections: 128,
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 300_000,
  bodyTimeout: 0,
  headersTimeout: 0,
  connectTimeout: 5_000,
};

export class StreamableHttpTransport implements UpstreamTransport {
  readonly #pools = new Map<string, Pool>();

  /** Event streams (GET) hold their connection for the session's life: a pool of their own, so they never starve calls. */
  #pool(endpoint: Endpoint, streams = false): Pool {
    const key = `${streams ? STREAMS : ''}${endpointKey(endpoint)}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
      pool = new Pool(
        `http://${host}:${endpoint.port}`,
        streams ? { ...POOL_OPTIONS, connections: null } : POOL_OPTIONS,
      );
      this.#pools.set(key, pool);
    }
    return pool;
  }

  #headers(request: Omit<UpstreamRequest, 'body'>, post: boolean): Record<string, string> {
    const headers: Record<string, string> = { host: hostHeader(request.target) };
    if (post) {
      headers['content-type'] = 'application/json';
      headers.accept = 'application/json, text/event-stream';
    }
    if (request.sessionId !== undefined) headers['mcp-session-id'] = request.sessionId;
    if (request.protocolVersion !== undefined) headers['mcp-protocol-version'] = request.protocolVersion;
    if (request.credential) headers[request.credential.header] = request.credential.value;
    return request.headers ? { ...request.headers, ...headers } : headers;
  }

  post(request: UpstreamRequest): Promise<UpstreamReply> {
    return dispatchPost(
      this.#pool(request.endpoint),
      {
        method: 'POST',
        path: request.target.path,
        headers: this.#headers(request, true),
        body: request.body,
      },
      request.target.name,
      request.signal,
      { hadSession: request.sessionId !== undefined, passThrough: request.passThrough ?? false },
    );
  }

  async listen(request: Omit<UpstreamRequest, 'body'>): Promise<Readable | undefined> {
    const name = request.target.name;
    let response: Awaited<ReturnType<Pool['request']>>;
    try {
      response = await this.#pool(request.endpoint, true).request({
        method: 'GET',
        path: request.target.path,
        headers: { ...this.#headers(request, false), accept: 'text/event-stream' },
        signal: request.signal,
      });
    } catch (error) {
      throw toUpstreamError(name, error, request.signal);
    }
    const { statusCode, headers, body } = response;
    const type = (header(headers, 'content-type') ?? '').toLowerCase();
    if (statusCode === 200 && type.startsWith('text/event-stream')) return body;
    body.dump().catch(() => {});
    if (statusCode === 405) return undefined;
    throw new UpstreamError(
      name,
      'status',
      `target "${name}" refused its event stream (HTTP ${statusCode})`,
      statusCode,
    );
  }

  async terminate(request: Omit<UpstreamRequest, 'body'>): Promise<void> {
    if (request.sessionId === undefined) return;
    try {
      const { body } = await this.#pool(request.endpoint).request({
        method: 'DELETE',
        path: request.target.path,
        headers: this.#headers(request, false),
        signal: request.signal,
      });
      await body.dump();
    } catch (error) {
      throw toUpstreamError(request.target.name, error, request.signal);
    }
  }

  retain(endpoints: ReadonlySet<string>): void {
    for (const [key, pool] of this.#pools) {
      if (endpoints.has(key.startsWith(STREAMS) ? key.slice(STREAMS.length) : key)) continue;
      this.#pools.delete(key);
      pool.close().catch(() => {});
    }
  }

  async close(force = false): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((pool) => (force ? pool.destroy() : pool.close())));
  }
}
