/**
 * A session's server→client channel: the client's GET stream and the upstream event streams that
 * feed it. Upstream streams open when the client opens its GET or sends its first request (a
 * session that is only initialized holds no upstream connection), and
 * outlive a client GET by a grace period, so whatever a target sends while the client has no stream
 * open (not yet, or reconnecting) waits in a small bounded buffer instead of being lost. When the
 * grace period passes with no client stream, the upstream streams close and the buffer is dropped.
 * An open upstream stream also carries the target's list_changed, so the session's kept lists
 * (list-cache.ts) live and die with it.
 */

import { listsChangedBy, TargetLists } from './list-cache.js';

/** Something the session can close when it goes away (its GET stream). */
export interface Closable {
  close(): void;
}

/** The session's downstream GET stream. */
export interface EventSink extends Closable {
  send(message: unknown): boolean;
  readonly closed: boolean;
  /** The client is behind: a producer that can wait should, before its next message. */
  readonly full: boolean;
  /** Settles when the stream is no longer full (or has ended). */
  ready(): Promise<void>;
}

/** Messages kept for a client that has no GET stream open; the oldest go first. */
export const EVENT_BUFFER_LIMIT = 64;
/** `--session-buffer-bytes`: bytes (of JSON) kept for a client that has no GET stream open. */
export const DEFAULT_SESSION_BUFFER_BYTES = 1024 * 1024;

/** How much a session keeps while no GET stream is open (one object per process). */
export interface SessionBufferLimits {
  readonly messages: number;
  readonly bytes: number;
  /** One message was dropped to stay within the bounds. */
  readonly dropped?: () => void;
}

export const DEFAULT_SESSION_BUFFER: SessionBufferLimits = {
  messages: EVENT_BUFFER_LIMIT,
  bytes: DEFAULT_SESSION_BUFFER_BYTES,
};

interface Kept {
  readonly message: unknown;
  readonly bytes: number;
}
/**
 * How long upstream streams stay open (and messages are kept) without a client stream: long enough
 * for a client to open or reopen its GET, short enough that abandoned sessions do not hold upstream
 * connections.
 */
export const EVENT_GRACE_MS = 10_000;
/**
 * A client that will open its GET stream does so within milliseconds of its handshake (SDK clients
 * do it right after `notifications/initialized`). Streams opened for a session's first request are
 * kept this long for it, then closed if it has not, so clients that never listen hold no upstream
 * connections.
 */
export const FIRST_REQUEST_GRACE_MS = 2_000;

/**
 * Resources a session's 2025 client subscribed to on 2026-07-28 targets, which have no
 * resources/subscribe: their listen streams ask for these (all targets of the session together).
 */
export const MAX_SESSION_SUBSCRIPTIONS = 256;

/** One target's event stream: how to stop it, and (once the upstream answered) its kept lists. */
interface Listener {
  readonly controller: AbortController;
  lists: TargetLists | undefined;
}

export class SessionEvents {
  #sink: EventSink | undefined;
  // Both created on first use: most sessions never buffer a message or open an upstream stream.
  #buffer: Kept[] | undefined;
  #bufferBytes = 0;
  #listeners: Map<string, Listener> | undefined;
  #grace: NodeJS.Timeout | undefined;
  #started = false;
  #subscriptions: Map<string, Set<string>> | undefined;
  #subscriptionCount = 0;
  /** Upstream streams being opened right now: settles once every target answered its GET. */
  opening: Promise<void> | undefined;

  constructor(private readonly graceMs = EVENT_GRACE_MS) {}

  /** The client's open GET stream, if any. */
  get sink(): EventSink | undefined {
    return this.#sink;
  }

  /** A client stream is open or expected (within the grace period). */
  get active(): boolean {
    return this.#sink !== undefined || this.#grace !== undefined;
  }

  /** Upstream streams were opened for this session once (its GET, or its first request). */
  get started(): boolean {
    return this.#started;
  }

  get buffered(): number {
    return this.#buffer?.length ?? 0;
  }

  get bufferedBytes(): number {
    return this.#bufferBytes;
  }

  /** The client's stream is behind: an upstream stream waits (`ready()`) before its next message. */
  get full(): boolean {
    return this.#sink?.full ?? false;
  }

  /** Settles when the client's stream can take more, or has gone (then messages are kept again). */
  ready(): Promise<void> {
    return this.#sink?.ready() ?? Promise.resolve();
  }

  /**
   * Deliver on the client's stream, or keep the message while one is expected: the newest that fit
   * in `limits`, the oldest dropped first (a message larger than the byte bound alone is dropped).
   */
  send(message: unknown, limits: SessionBufferLimits): boolean {
    const sink = this.#sink;
    if (sink) {
      if (sink.send(message)) return true;
      this.closed(sink);
    }
    if (!this.active) return false;
    this.#buffer ??= [];
    const buffer = this.#buffer;
    const bytes = Buffer.byteLength(JSON.stringify(message) ?? '');
    buffer.push({ message, bytes });
    this.#bufferBytes += bytes;
    while (buffer.length > limits.messages || this.#bufferBytes > limits.bytes) {
      this.#bufferBytes -= buffer.shift()!.bytes;
      limits.dropped?.();
    }
    return true;
  }

  /** The client opened its GET stream: it replaces the previous one and gets what was buffered. */
  open(sink: EventSink): void {
    this.#started = true;
    const previous = this.#sink;
    this.#sink = sink;
    this.#clearGrace();
    previous?.close();
    const pending = this.#buffer ?? [];
    this.#buffer = undefined;
    this.#bufferBytes = 0;
    for (const kept of pending) if (!sink.send(kept.message)) break;
  }

  /** The client's stream ended: keep listening upstream for the grace period. */
  closed(sink: EventSink): void {
    if (this.#sink !== sink) return;
    this.#sink = undefined;
    this.expect();
  }

  /** A client stream is expected soon (handshake done, or a reconnect): keep listening meanwhile. */
  expect(graceMs = this.graceMs): void {
    this.#started = true;
    if (this.#sink) return;
    this.#clearGrace();
    this.#grace = setTimeout(() => {
      this.#grace = undefined;
      this.#stopListening();
    }, graceMs);
    this.#grace.unref();
  }

  /** Claim the upstream stream of a target: a signal to run it under, or undefined when not wanted. */
  listen(target: string): AbortSignal | undefined {
    if (!this.active || this.#listeners?.has(target)) return undefined;
    this.#listeners ??= new Map();
    const controller = new AbortController();
    this.#listeners.set(target, { controller, lists: undefined });
    return controller.signal;
  }

  /**
   * The upstream answered the GET of upstream session `owner` (a TargetSession): from now on that
   * session's change announcements reach us.
   */
  streaming(target: string, signal: AbortSignal, owner: object): void {
    const listener = this.#listeners?.get(target);
    if (listener?.controller.signal === signal) listener.lists ??= new TargetLists(owner);
  }

  /** The lists this session may keep for a target: only while its event stream is up. */
  lists(target: string): TargetLists | undefined {
    return this.#listeners?.get(target)?.lists;
  }

  /** A message from a target: a list_changed drops what was kept of those lists. */
  heard(target: string, message: unknown): void {
    const method = (message as { method?: unknown } | null)?.method;
    const changed = typeof method === 'string' ? listsChangedBy(method) : undefined;
    if (changed) this.#listeners?.get(target)?.lists?.forget(changed);
  }

  /** The backend's targets changed: keep nothing from before. */
  forgetLists(): void {
    if (this.#listeners) for (const listener of this.#listeners.values()) listener.lists?.forget();
  }

  /** An upstream stream ended (by the upstream, or aborted): the next client GET may reopen it. */
  ended(target: string, signal: AbortSignal): void {
    if (this.#listeners?.get(target)?.controller.signal === signal) this.#listeners.delete(target);
  }

  /** The URIs subscribed on a target (in the order subscribed). */
  subscriptions(target: string): readonly string[] {
    const uris = this.#subscriptions?.get(target);
    return uris ? [...uris] : [];
  }

  /** `full` at MAX_SESSION_SUBSCRIPTIONS (the caller refuses); `known` changes nothing. */
  subscribe(target: string, uri: string): 'added' | 'known' | 'full' {
    this.#subscriptions ??= new Map();
    let uris = this.#subscriptions.get(target);
    if (uris?.has(uri)) return 'known';
    if (this.#subscriptionCount >= MAX_SESSION_SUBSCRIPTIONS) return 'full';
    if (!uris) {
      uris = new Set();
      this.#subscriptions.set(target, uris);
    }
    uris.add(uri);
    this.#subscriptionCount += 1;
    return 'added';
  }

  /** Whether the set changed. */
  unsubscribe(target: string, uri: string): boolean {
    if (!this.#subscriptions?.get(target)?.delete(uri)) return false;
    this.#subscriptionCount -= 1;
    return true;
  }

  /** Stop a target's stream now (its subscriptions changed): the caller opens the next one. */
  stopListening(target: string): void {
    const listener = this.#listeners?.get(target);
    if (!listener) return;
    this.#listeners!.delete(target);
    listener.controller.abort();
  }

  isListening(target: string): boolean {
    return this.#listeners?.has(target) ?? false;
  }

  /** The session went away (deleted, evicted, gateway closing). */
  close(): void {
    this.#clearGrace();
    this.#stopListening();
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.close();
  }

  #stopListening(): void {
    const listeners = this.#listeners;
    this.#listeners = undefined;
    this.#buffer = undefined;
    this.#bufferBytes = 0;
    if (listeners) for (const listener of listeners.values()) listener.controller.abort();
  }

  #clearGrace(): void {
    if (this.#grace === undefined) return;
    clearTimeout(this.#grace);
    this.#grace = undefined;
  }
}
