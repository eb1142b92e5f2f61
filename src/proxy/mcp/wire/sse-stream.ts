/**
 * Downstream SSE: one `event: message` per JSON-RPC message, each with an id and flushed on its
 * own, plus `:` keep-alive comments so idle proxies and clients do not cut long calls.
 */
import type { Readable } from 'node:stream';

const encoder = new TextEncoder();
const KEEP_ALIVE = encoder.encode(': keep-alive\n\n');

export class SseStream {
  readonly readable: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #nextId = 1;
  #closed = false;
  readonly #timer: NodeJS.Timeout;

  constructor(
    keepAliveMs: number,
    /** Called once when the stream ends: closed by us or cancelled by the client going away. */
    private readonly onClose: () => void,
  ) {
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => this.#finish(),
    });
    this.#timer = setInterval(() => this.#enqueue(KEEP_ALIVE), keepAliveMs);
    this.#timer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queue one keep-alive comment now (the interval timer sends the next ones). */
  comment(): boolean {
    return this.#enqueue(KEEP_ALIVE);
  }

  /** Queue one message; false when the stream is already gone. */
  send(message: unknown): boolean {
    const id = this.#nextId++;
    return this.#enqueue(encoder.encode(`event: message\nid: ${id}\ndata: ${JSON.stringify(message)}\n\n`));
  }

  close(): void {
    if (this.#closed) return;
    try {
      this.#controller.close();
    } catch {
      // Already errored or cancelled by the reader.
    }
    this.#finish();
  }

  #enqueue(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    try {
      this.#controller.enqueue(bytes);
      return true;
    } catch {
      this.#finish();
      return false;
    }
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.onClose();
  }
}

const LF = 0x0a;

/**
 * Pass an upstream SSE body through byte for byte (the transparent fast path), adding keep-alive
 * comments only between events (when the bytes so far end with a blank line).
 */
export function passThroughSse(
  body: Readable,
  keepAliveMs: number,
  onClose: () => void,
  /** The message to end with when the upstream body fails (a JSON-RPC error for the pending request). */
  lastMessage?: (error: unknown) => unknown,
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
      timer = setInterval(() => {
        if (atBoundary && !done) controller.enqueue(KEEP_ALIVE);
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
