/**
 * One upstream HTTP+SSE connection (2024-11-05 transport): the GET event stream of one client
 * session's view of one target. Everything the upstream says arrives here and is routed: a
 * response to the request with its id, progress to the request that asked for it, anything else
 * (server requests, logging, list_changed) to the session's listener, else to the latest request.
 *
 * Backpressure: each destination (a request's streamed answer, a listener) is a Readable with a
 * high-water mark. When one is full, the stream is read no further until every full destination
 * has been read from or has gone; the upstream body then pauses, and so does its TCP stream. This
 * holds back the target's other answers to the same session too: the transport carries a whole
 * client session on one event stream, so that is what the client would see talking to the target
 * directly, and it is what keeps the gateway's memory bounded.
 */
import { Readable } from 'node:stream';
import type { Endpoint } from '../../shared/table.js';
import { JsonRpcCode } from '../mcp/wire/errors.js';
import { toUpstreamError, UpstreamError } from './errors.js';
import { classifyIncoming, frame, idKey, type RpcId, resolveEndpoint } from './legacy-sse-messages.js';
import { MAX_UPSTREAM_MESSAGE_BYTES } from './read.js';
import { type SseEvent, SseEventTooLarge, SseParser } from './sse-parser.js';
import type { UpstreamReply } from './transport.js';

/** What one destination holds before the stream waits for its reader (as the downstream streams). */
export const DESTINATION_HIGH_WATER_MARK = 64 * 1024;

interface Pending {
  /** The id the client used; the upstream saw `upstreamId` (different only on a collision). */
  readonly original: RpcId;
  readonly upstreamId: RpcId;
  readonly progressKey: string | undefined;
  readonly resolve: (reply: UpstreamReply) => void;
  readonly reject: (error: UpstreamError) => void;
  /** Set once the first message arrived and it was not the response: the reply is a stream. */
  body: Readable | undefined;
  detach: () => void;
}

export interface ConnectionOptions {
  readonly key: string;
  readonly target: string;
  readonly endpoint: Endpoint;
  /** `http://<host header><path>`: what the endpoint event is resolved against. */
  readonly streamUrl: string;
  readonly origins: readonly string[];
  /** POST a message to the endpoint (used for the cancellations this connection sends itself). */
  readonly send: (connection: LegacySseConnection, payload: string) => Promise<void>;
  readonly onClose: (connection: LegacySseConnection) => void;
}

export class LegacySseConnection {
  readonly key: string;
  readonly target: string;
  readonly endpoint: Endpoint;
  /** Where messages go (path and query), known once the endpoint event arrived. */
  postPath: string | undefined;
  lastUsed = performance.now();
  readonly #options: ConnectionOptions;
  readonly #abort = new AbortController();
  readonly #pending = new Map<string, Pending>();
  readonly #progress = new Map<string, Pending>();
  readonly #listeners = new Set<Readable>();
  /**
   * Destinations at their high-water mark: the stream is not read while any is here (waiting for
   * only one of them to be read would let a stalled one grow by a message at a time).
   */
  readonly #full = new Set<Readable>();
  #room: (() => void) | undefined;
  #closed: UpstreamError | undefined;
  #nextId = 0;
  #ready!: { resolve: () => void; reject: (error: UpstreamError) => void };
  /** Settles when the endpoint event arrived (or the connection failed first). */
  readonly ready: Promise<void>;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.key = options.key;
    this.target = options.target;
    this.endpoint = options.endpoint;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#ready = { resolve, reject };
    });
    this.ready.catch(() => {});
  }

  /** Aborts the GET when the connection closes. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Nothing waits on it and nothing used it for `ms`. */
  isIdle(now: number, ms: number): boolean {
    return this.#pending.size === 0 && this.#listeners.size === 0 && now - this.lastUsed > ms;
  }

  /** Read the event stream until it ends; then the connection is closed and pending requests fail. */
  attach(body: Readable): void {
    void this.#read(body);
  }

  async #read(body: Readable): Promise<void> {
    const parser = new SseParser(MAX_UPSTREAM_MESSAGE_BYTES);
    const decoder = new TextDecoder();
    const name = this.target;
    try {
      for await (const chunk of body) {
        for (const event of parser.feed(decoder.decode(chunk as Buffer, { stream: true }))) {
          this.#onEvent(event);
          // A field read per message; a promise only while a reader is behind.
          if (this.#full.size > 0) await this.#roomy();
          if (this.closed) break;
        }
        if (this.closed) break;
      }
      this.close(new UpstreamError(name, 'unreachable', `target "${name}" closed its event stream`));
    } catch (error) {
      const message =
        error instanceof SseEventTooLarge
          ? `target "${name}": ${error.message}`
          : `target "${name}" closed its event stream`;
      this.close(
        new UpstreamError(name, error instanceof SseEventTooLarge ? 'protocol' : 'unreachable', message),
      );
    } finally {
      if (!body.destroyed) body.destroy();
    }
  }

  #onEvent(event: SseEvent): void {
    if (event.event === 'endpoint') {
      if (this.postPath !== undefined) return; // The first endpoint wins; a moving endpoint is not in the spec.
      const { streamUrl, origins } = this.#options;
      const resolved = resolveEndpoint(event.data, streamUrl, origins, this.target);
      if ('error' in resolved) {
        this.close(new UpstreamError(this.target, 'protocol', resolved.error));
        return;
      }
      this.postPath = resolved.path;
      this.#ready.resolve();
      return;
    }
    if (event.event !== 'message' || event.data === '') return;
    let message: unknown;
    try {
      message = JSON.parse(event.data);
    } catch {
      return; // Not JSON: nothing can be routed; the request it belonged to (if any) still has its signal.
    }
    if (Array.isArray(message)) for (const item of message) this.#route(item, JSON.stringify(item));
    else this.#route(message, event.data);
  }

  #route(message: unknown, raw: string): void {
    const incoming = classifyIncoming(message);
    if (!incoming) return;
    if (incoming.kind === 'response') {
      const pending = this.#pending.get(idKey(incoming.id));
      if (!pending) return; // Answer to a request the client gave up on.
      const text =
        pending.upstreamId === pending.original ? raw : restoreId(incoming.message, pending.original);
      this.#deliver(pending, text, true);
      return;
    }
    if (incoming.kind === 'progress') {
      const pending = this.#progress.get(incoming.tokenKey);
      if (pending) this.#deliver(pending, raw, false);
      return;
    }
    const listener = [...this.#listeners].at(-1);
    if (listener) {
      this.#push(listener, frame(raw));
      return;
    }
    const latest = [...this.#pending.values()].at(-1);
    if (latest) this.#deliver(latest, raw, false);
  }

  #deliver(pending: Pending, text: string, final: boolean): void {
    if (final) this.#forget(pending);
    if (!pending.body) {
      if (final) {
        pending.resolve({
          kind: 'json',
          sessionId: this.key,
          body: Buffer.from(text),
        });
        return;
      }
      pending.body = this.#destination(() => this.#abandon(pending));
      pending.resolve({ kind: 'sse', sessionId: this.key, body: pending.body });
    }
    this.#push(pending.body, frame(text));
    if (final) this.#end(pending.body);
  }

  /** A Readable for one reader whose reads (and going away) let a stream held for it go on. */
  #destination(onDestroy?: () => void): Readable {
    const readable: Readable = new Readable({
      highWaterMark: DESTINATION_HIGH_WATER_MARK,
      // Called when the reader takes bytes and wants more: its buffer is going below the mark.
      read: () => this.#roomIn(readable),
      destroy: (error, callback) => {
        onDestroy?.();
        this.#roomIn(readable);
        callback(error);
      },
    });
    return readable;
  }

  #push(readable: Readable, bytes: Buffer): void {
    if (readable.destroyed) return;
    readable.push(bytes);
    if (readable.readableLength >= readable.readableHighWaterMark) this.#full.add(readable);
  }

  /** Nothing more goes into `readable`: what it holds is bounded already; the stream need not wait for it. */
  #end(readable: Readable): void {
    readable.push(null);
    this.#roomIn(readable);
  }

  #roomIn(readable: Readable): void {
    if (this.#full.delete(readable) && this.#full.size === 0) this.#wake();
  }

  /** Settles when no destination is full any more (or the connection closed). */
  #roomy(): Promise<void> {
    return new Promise((resolve) => {
      this.#room = resolve;
    });
  }

  #wake(): void {
    const room = this.#room;
    this.#room = undefined;
    room?.();
  }

  /**
   * Wait for the answer to a request about to be POSTed. Returns the id to send upstream: the
   * client's own unless another in-flight request on this connection already uses it.
   */
  expect(id: RpcId, progressKey: string | undefined, signal: AbortSignal | undefined) {
    this.lastUsed = performance.now();
    let upstreamId = id;
    if (this.#pending.has(idKey(id))) {
      this.#nextId += 1;
      upstreamId = `mcplane-sse-${this.#nextId}`;
    }
    let pending!: Pending;
    const reply = new Promise<UpstreamReply>((resolve, reject) => {
      pending = { original: id, upstreamId, progressKey, resolve, reject, body: undefined, detach: () => {} };
    });
    reply.catch(() => {});
    if (this.#closed) {
      pending.reject(this.#closed);
      return { upstreamId, reply, abandon: () => {} };
    }
    this.#pending.set(idKey(upstreamId), pending);
    if (progressKey !== undefined) this.#progress.set(progressKey, pending);
    if (signal) {
      const onAbort = () => {
        if (pending.body) return; // Streaming: the reader destroys the body when it stops.
        this.#abandon(pending);
        pending.reject(abortError(this.target, signal));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      pending.detach = () => signal.removeEventListener('abort', onAbort);
    }
    return { upstreamId, reply, abandon: () => this.#abandon(pending) };
  }

  /** The upstream id of the in-flight request the client knows as `id` (for notifications/cancelled). */
  upstreamIdOf(id: RpcId): RpcId {
    for (const pending of this.#pending.values()) if (pending.original === id) return pending.upstreamId;
    return id;
  }

  /** Serve the session's server→client messages to a new listener until `signal` aborts. */
  listen(signal: AbortSignal): Readable {
    this.lastUsed = performance.now();
    const listener = this.#destination();
    if (this.#closed || signal.aborted) {
      listener.push(null);
      return listener;
    }
    // Only the newest listener is sent anything: the stream no longer waits for the older ones.
    for (const older of this.#listeners) this.#roomIn(older);
    this.#listeners.add(listener);
    const end = () => {
      if (this.#listeners.delete(listener)) this.#end(listener);
    };
    signal.addEventListener('abort', end, { once: true });
    listener.once('close', () => {
      signal.removeEventListener('abort', end);
      this.#listeners.delete(listener);
    });
    return listener;
  }

  /** End the connection: the GET is aborted, waiting requests fail with `reason`, listeners end. */
  close(reason: UpstreamError): void {
    if (this.#closed) return;
    this.#closed = reason;
    this.#abort.abort(reason);
    this.#ready.reject(reason);
    const failed = new UpstreamError(
      this.target,
      reason.failure,
      reason.failure === 'unreachable' ? `${reason.message} before answering` : reason.message,
    );
    for (const pending of [...this.#pending.values()]) {
      this.#forget(pending);
      if (pending.body) {
        const error = { code: JsonRpcCode.UpstreamUnavailable, message: failed.message };
        this.#push(pending.body, frame(JSON.stringify({ jsonrpc: '2.0', id: pending.original, error })));
        this.#end(pending.body);
      } else {
        pending.reject(failed);
      }
    }
    for (const listener of this.#listeners) this.#end(listener);
    this.#listeners.clear();
    this.#full.clear();
    this.#wake(); // the read loop sees `closed` and stops
    this.#options.onClose(this);
  }

  #forget(pending: Pending): void {
    this.#pending.delete(idKey(pending.upstreamId));
    if (pending.progressKey !== undefined && this.#progress.get(pending.progressKey) === pending) {
      this.#progress.delete(pending.progressKey);
    }
    pending.detach();
    // Nothing more goes to a forgotten request (an answer ends its body; an abandoned one gets nothing).
    if (pending.body) this.#roomIn(pending.body);
  }

  /** The client stopped waiting before the answer: forget it, and cancel what only we can name. */
  #abandon(pending: Pending): void {
    if (this.#pending.get(idKey(pending.upstreamId)) !== pending) return;
    this.#forget(pending);
    if (pending.upstreamId === pending.original || this.#closed) return;
    const params = { requestId: pending.upstreamId, reason: 'client disconnected' };
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params });
    this.#options.send(this, body).catch(() => {});
  }
}

function restoreId(message: Record<string, unknown>, id: RpcId): string {
  return JSON.stringify({ ...message, id });
}

/** Why a request ended when the caller's signal fired (a deadline, the gateway's drain, the client). */
export function abortError(target: string, signal: AbortSignal): UpstreamError {
  return toUpstreamError(target, signal.reason, signal);
}
