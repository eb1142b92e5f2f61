/**
 * Sessions held in this process: a bounded map token → Session in least-recently-used order
 * (Map insertion order; a use moves the entry to the end), so idle expiry and the size cap both
 * evict from the front. A token this process has not seen is opened once and cached: any replica
 * with the key can serve any session. Tokens deleted or expired here are remembered (bounded) and
 * get 404 from this process; a session evicted only for capacity reopens from its token.
 */
import type { KeyRing } from './key-ring.js';
import { Session } from './session.js';

export type Lookup =
  | { readonly session: Session }
  | { readonly missing: 'unknown' | 'deleted' | 'expired' | 'other-backend' };

/** Busy sessions skipped per add() when the cache is over its cap. */
const MAX_BUSY_MOVES = 16;

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  /** Tokens ended here (DELETE, or idle past the TTL) → why; bounded, oldest forgotten first. */
  readonly #ended = new Map<string, 'deleted' | 'expired'>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(
    private readonly keyRing: KeyRing,
    private readonly idleTtlMs: number,
    private readonly maxSessions: number,
    private readonly onEvict: (session: Session, reason: 'idle' | 'capacity' | 'deleted' | 'closed') => void,
  ) {
    this.#sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(idleTtlMs, 30_000)));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  add(session: Session): void {
    this.#sessions.set(session.token, session);
    if (this.#sessions.size <= this.maxSessions) return;
    // Over the cap: drop the least recently used idle sessions (they reopen from their tokens). A
    // session with an open stream or a call in flight moves to the back instead, a bounded number
    // of times per add so that a cache full of busy sessions costs no more than a short scan.
    let moves = 0;
    for (const oldest of this.#sessions.values()) {
      if (this.#sessions.size <= this.maxSessions || oldest === session) break;
      if (oldest.busy) {
        if (++moves > MAX_BUSY_MOVES) break;
        this.#sessions.delete(oldest.token);
        this.#sessions.set(oldest.token, oldest);
        continue;
      }
      this.#remove(oldest, 'capacity');
    }
  }

  get(token: string, backendId: string): Lookup {
    let session = this.#sessions.get(token);
    if (session) {
      this.#sessions.delete(token);
    } else {
      const ended = this.#ended.get(token);
      if (ended) return { missing: ended };
      session = Session.open(this.keyRing, token);
      if (!session) return { missing: 'unknown' };
    }
    if (session.backendId !== backendId) return { missing: 'other-backend' };
    session.lastUsed = performance.now();
    this.add(session);
    return { session };
  }

  /** Forget a session for good on this replica (DELETE). */
  delete(session: Session): void {
    this.#remove(session, 'deleted');
    this.#end(session.token, 'deleted');
  }

  #end(token: string, why: 'deleted' | 'expired'): void {
    this.#ended.set(token, why);
    if (this.#ended.size > this.maxSessions) {
      const first = this.#ended.keys().next().value;
      if (first !== undefined) this.#ended.delete(first);
    }
  }

  all(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  sweep(now = performance.now()): void {
    for (const session of this.#sessions.values()) {
      if (now - session.lastUsed < this.idleTtlMs) break;
      // An open GET stream, or a request still in flight (a long tool call), means the client is still there.
      if (session.busy) {
        session.lastUsed = now;
        this.#sessions.delete(session.token);
        this.#sessions.set(session.token, session);
        continue;
      }
      this.#remove(session, 'idle');
      this.#end(session.token, 'expired');
    }
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const session of [...this.#sessions.values()]) this.#remove(session, 'closed');
  }

  #remove(session: Session, reason: 'idle' | 'capacity' | 'deleted' | 'closed'): void {
    if (this.#sessions.get(session.token) === session) this.#sessions.delete(session.token);
    this.onEvict(session, reason);
  }
}
