/**
 * Downstream SSE: one `event: message` per JSON-RPC message, each with an id and flushed on its
 * own, plus `:` keep-alive comments so idle proxies and clients do not cut long calls.
 *
 * Backpressure: the stream keeps its own queue of bytes the client has not taken yet (the web
 * stream underneath queues nothing), so it can tell producers to wait (`full`, `ready()`) and,
 * when a producer does not wait, drop what is queued and end with a last message instead of
 * growing. A producer that waits while `full` never hits the cap: a message sent while fewer than
 * `highWaterMark` bytes are queued is always accepted, however large (an upstream message may be up
 * to 32 MiB). So one stream holds at most max(maxBytes, highWaterMark + one message).
 */
import type { Readable } from 'node:stream';
import { JsonRpcCode } from './errors.js';
import type { JsonRpcId } from './jsonrpc.js';

const encoder = new TextEncoder();
const KEEP_ALIVE = encoder.encode(': keep-alive\n\n');

/** Producers wait while this many bytes are queued: enough to keep a socket busy between pulls. */
export const SSE_HIGH_WATER_MARK = 64 * 1024;
/** `--max-stream-buffer`: bytes one stream may queue for a client that does not read. */
export const DEFAULT_MAX_STREAM_BUFFER = 8 * 1024 * 1024;

/** How much one stream may queue, and what to count (one object per process, shared by streams). */
export interface SseLimits {
  /** Past this many queued bytes, a message sent while the stream is `full` ends the stream. */
  readonly maxBytes: number;
  /** Bytes entering (+) and leaving (-) stream queues: a gauge. */
  readonly queued?: (delta: number) => void;
  /** A stream ended over maxBytes. */
  readonly overflowed?: () => void;
}

export const DEFAULT_SSE_LIMITS: SseLimits = { maxBytes: DEFAULT_MAX_STREAM_BUFFER };

/** `8MiB`, `64KiB` or `1000 bytes`: a byte count as the flags spell it. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return `${bytes} bytes`;
}

/**
 * The JSON-RPC error a stream ends with when its cap is hit: the answer to the request the stream
 * carries, or (the GET stream) an error that answers no request, without an id.
 */
export function streamBufferError(maxBytes: number, id?: JsonRpcId): unknown {
  const error = {
    code: JsonRpcCode.LimitExceeded,
    message: `Stream buffer limit: the client did not read this stream and more than ${formatBytes(maxBytes)} (--max-stream-buffer) were queued; the queued messages were dropped`,
  };
  return id === undefined ? { jsonrpc: '2.0', error } : { jsonrpc: '2.0', id, error };
}

export class SseStream {
  readonly readable: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #nextId = 1;
  /** No more sends: closed by us, over the cap, or cancelled by the client. */
  #closed = false;
  /** close() was called with bytes still queued: the web stream closes after the last one. */
  #closing = false;
  #overflowed = false;
  readonly #timer: NodeJS.Timeout;
  // The queue: chunks[head..] not yet taken by the reader, `queued` bytes in all.
  #chunks: Array<Uint8Array | undefined> = [];
  #head = 0;
  #queued = 0;
  /** The reader asked for bytes when none were queued: the next chunk goes straight to it. */
  #wanted = false;
  readonly #highWaterMark: number;
  #ready: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    keepAliveMs: number,
    /** Called once when the stream ends: closed by us or cancelled by the client going away. */
    private readonly onClose: () => void,
    private readonly limits: SseLimits = DEFAULT_SSE_LIMITS,
    /** The last message when the cap ends the stream (the error for the request it answers). */
    private readonly lastWords?: () => unknown,
  ) {
    this.#highWaterMark = Math.min(SSE_HIGH_WATER_MARK, limits.maxBytes);
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => this.#pull(),
        cancel: () => this.#finish(),
      },
      { highWaterMark: 0 },
    );
    this.#timer = setInterval(() => this.comment(), keepAliveMs);
    this.#timer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The stream ended because a send went past its cap. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** The client is behind: a producer that can wait should (`ready()`) before its next send. */
  get full(): boolean {
    return this.#queued >= this.#highWaterMark && !this.#closed;
  }

  /** Settles when the stream is no longer full (the client took bytes, or the stream ended). */
  ready(): Promise<void> {
    if (!this.full) return Promise.resolve();
    if (!this.#ready) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#ready = { promise, resolve };
    }
    return this.#ready.promise;
  }

  /** Queue one keep-alive comment, unless the client has not yet taken what is queued. */
  comment(): boolean {
    if (this.#closed || this.#queued > 0) return false;
    return this.#push(KEEP_ALIVE);
  }

  /** Queue one message; false when the stream is gone (or this message went past its cap). */
  send(message: unknown): boolean {
    if (this.#closed) return false;
    const id = this.#nextId++;
    return this.#push(encoder.encode(`event: message\nid: ${id}\ndata: ${JSON.stringify(message)}\n\n`));
  }

  /** No more messages: the client still gets what is queued, then the end of the stream. */
  close(): void {
    if (this.#closed) return;
    this.#closing = true;
    if (this.#queued === 0) this.#endReadable();
    this.#finish();
  }

  #push(bytes: Uint8Array): boolean {
    if (this.#wanted) {
      this.#wanted = false;
      return this.#deliver(bytes);
    }
    const queued = this.#queued;
    if (queued >= this.#highWaterMark && queued + bytes.length > this.limits.maxBytes) {
      this.#overflow();
      return false;
    }
    this.#chunks.push(bytes);
    this.#queued = queued + bytes.length;
    this.limits.queued?.(bytes.length);
    return true;
  }

  /** The reader wants a chunk (the web stream asks only when a read is waiting). */
  #pull(): void {
    if (this.#head === this.#chunks.length) {
      if (this.#closing) this.#endReadable();
      else this.#wanted = true;
      return;
    }
    const chunk = this.#chunks[this.#head]!;
    this.#chunks[this.#head++] = undefined; // let it go now
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    }
    this.#queued -= chunk.length;
    this.limits.queued?.(-chunk.length);
    this.#deliver(chunk);
    if (this.#ready && this.#queued < this.#highWaterMark) this.#wake();
  }

  #deliver(bytes: Uint8Array): boolean {
    try {
      this.#controller.enqueue(bytes);
      return true;
    } catch {
      this.#finish();
      return false;
    }
  }

  /** A producer did not wait and the client is far behind: drop the queue, end with lastWords. */
  #overflow(): void {
    this.#overflowed = true;
    this.limits.overflowed?.();
    this.#drop();
    const last = this.lastWords?.();
    if (last !== undefined) {
      this.#chunks.push(
        encoder.encode(`event: message\nid: ${this.#nextId++}\ndata: ${JSON.stringify(last)}\n\n`),
      );
      this.#queued = this.#chunks[0]!.length;
      this.limits.queued?.(this.#queued);
    }
    this.close();
  }

  #drop(): void {
    if (this.#queued > 0) this.limits.queued?.(-this.#queued);
    this.#chunks = [];
    this.#head = 0;
    this.#queued = 0;
  }

  #endReadable(): void {
    try {
      this.#controller.close();
    } catch {
      // Already errored or cancelled by the reader.
    }
  }

  #wake(): void {
    const ready = this.#ready;
    this.#ready = undefined;
    ready?.resolve();
  }

  #finish(): void {
    if (this.#closed) {
      // Cancelled by the reader after close(): what was still queued will never be taken.
      if (this.#queued > 0) this.#drop();
      return;
    }
    this.#closed = true;
    clearInterval(this.#timer);
    if (!this.#closing) this.#drop(); // cancelled: nobody will read the rest
    this.#wake();
    this.onClose();
  }
}

const LF = 0x0a;

/**
 * Pass an upstream SSE body through byte for byte (the transparent fast path), adding keep-alive
 * comments only between events (when the bytes so far end with a blank line). Backpressure is the
 * web stream's own: one chunk queued, then the upstream body pauses until the client reads.
 */
export function passThroughSse(
  body: Readable,
  keepAliveMs: number,
  onClose: () => void,
  /** The message to end with when the upstream body fails (a JSON-RPC error for the pending request). */
  lastMessage?: (error: unknown) => unknown,
  /** Send a keep-alive comment at once (the client has already waited one interval). */
  commentFirst = false,
): ReadableStream<Uint8Array> {
  let atBoundary = true;
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearInterval(timer);
    if (!body.readableEnded) body.destroy();
    onClose();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (commentFirst) controller.enqueue(KEEP_ALIVE);
      timer = setInterval(() => {
        // Not while the client has a chunk still to take: a reader that stalls collects nothing.
        if (atBoundary && !done && (controller.desiredSize ?? 0) > 0) controller.enqueue(KEEP_ALIVE);
      }, keepAliveMs);
      timer.unref();
      body.on('data', (chunk: Buffer) => {
        const n = chunk.length;
        // A comment may only go between events: after "\n\n" (or "\n\r\n").
        atBoundary =
          n >= 3 &&
          chunk[n - 1] === LF &&
          (chunk[n - 2] === LF || (chunk[n - 2] === 0x0d && chunk[n - 3] === LF));
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, n));
        if ((controller.desiredSize ?? 1) <= 0) body.pause();
      });
      body.on('end', () => {
        finish();
        controller.close();
      });
      body.on('error', (error) => {
        finish();
        const last = lastMessage?.(error);
        if (last === undefined) {
          controller.error(error);
          return;
        }
        // Answer the request instead of cutting the client's stream (a partial event is ended first).
        const event = `${atBoundary ? '' : '\n\n'}event: message\ndata: ${JSON.stringify(last)}\n\n`;
        try {
          controller.enqueue(encoder.encode(event));
          controller.close();
        } catch {
          // The client's side is already gone.
        }
      });
    },
    pull() {
      body.resume();
    },
    cancel() {
      finish();
    },
  });
}
