/**
 * One open watch: a chunked JSON-lines response. Filters events by namespace and label selector (with
 * the real server's transitions: an object leaving the selector is DELETED, one entering is ADDED).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metaOf, type StoredEvent } from './cluster-state.js';
import { apiVersionOf, type FakeKind } from './kinds.js';
import type { JsonObject } from './status.js';

export interface WatchSpec {
  kind: FakeKind;
  namespace?: string;
  /** Label and field selectors, applied to an object's metadata. */
  predicate: (meta: JsonObject) => boolean;
  bookmarks: boolean;
}

export class Watcher {
  /** When set, nothing more is written (the "headers then silence" fault). */
  silent = false;
  #closed = false;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(
    readonly spec: WatchSpec,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly onClose: (w: Watcher) => void,
  ) {
    res.on('close', () => this.#cleanup());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Send status and headers now: the client's watch() resolves only once they arrive. */
  open(): void {
    this.res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    this.res.flushHeaders();
  }

  /** End the stream cleanly after `ms`, as the server does for `timeoutSeconds`. */
  endAfter(ms: number): void {
    this.#timers.push(setTimeout(() => this.end(), ms));
  }

  every(ms: number, fn: () => void): void {
    this.#timers.push(setInterval(fn, ms));
  }

  matches(obj: JsonObject): boolean {
    const meta = metaOf(obj);
    if (this.spec.namespace !== undefined && meta.namespace !== this.spec.namespace) return false;
    return this.spec.predicate(meta);
  }

  /** Forward a stored event if this watch should see it, translating selector transitions. */
  offer(event: StoredEvent): void {
    const now = this.matches(event.object);
    if (event.type !== 'MODIFIED') {
      if (now) this.send(event.type, event.object);
      return;
    }
    const before = event.previous ? this.matches(event.previous) : false;
    if (now && before) this.send('MODIFIED', event.object);
    else if (now) this.send('ADDED', event.object);
    else if (before) this.send('DELETED', event.object);
  }

  bookmark(rv: number): void {
    if (!this.spec.bookmarks) return;
    this.send('BOOKMARK', {
      kind: this.spec.kind.kind,
      apiVersion: apiVersionOf(this.spec.kind),
      metadata: { resourceVersion: String(rv) },
    });
  }

  send(type: string, object: JsonObject): void {
    if (this.#closed || this.silent) return;
    this.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  /** A clean end of stream (what the client sees on timeoutSeconds). */
  end(): void {
    if (this.#closed) return;
    this.#cleanup();
    this.res.end();
  }

  /** Cut the connection without ending the chunked body (a reset seen by the client). */
  destroy(): void {
    if (this.#closed) return;
    this.#cleanup();
    this.req.socket.destroy();
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.onClose(this);
  }
}
