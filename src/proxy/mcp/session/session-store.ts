/**
 * Sessions held in this process: at most --max-sessions of them, every one counted (those with an
 * open GET stream or a call in flight too), in least-recently-used order to within REORDER_MS (Map
 * insertion order; a use moves the entry to the end, at most once per REORDER_MS: moving it on
 * every request cost a Map delete and insert per call). Memory is a cache of the sealed tokens: a
 * session dropped here (idle past --session-idle-ttl, or the oldest idle one when room is needed)
 * reopens from its token on its next use, here or on any replica. A session ends only by DELETE
 * (a revocation every replica learns, revocations.ts) or its maximum lifetime, counted from the
 * issue time inside the token. When every held session is busy, a new one (or the reopening of a
 * token not held) is refused.
 */
import type { McpBackend } from '../../../shared/table.js';
import { type KeyRing, parseToken, tokenId } from './key-ring.js';
import type { RevocationChange, Revocations } from './revocations.js';
import { Session } from './session.js';

export type Missing = 'unknown' | 'revoked' | 'floor' | 'expired' | 'other-backend';

export type Lookup =
  | { readonly session: Session }
  | { readonly missing: Missing }
  /** The token is valid but the store is full of busy sessions: refuse with 503. */
  | { readonly full: true };

export type EvictReason = 'idle' | 'capacity' | 'deleted' | 'revoked' | 'expired' | 'closed';

/** What a client hears when every place for a session is taken by a busy one (HTTP 503). */
export function sessionsFull(maxSessions: number): string {
  return `Too many sessions: this gateway already holds --max-sessions (${maxSessions}) sessions, all in use; retry later`;
}

/** A session used again within this long keeps its place in the eviction order. */
export const REORDER_MS = 1000;

export interface SessionStoreOptions {
  readonly idleTtlMs: number;
  readonly maxSessions: number;
  readonly maxLifetimeMs: number;
}

export class SessionStore {
  /** Session id (the token's nonce) → session; the token itself is compared on every lookup. */
  readonly #sessions = new Map<string, Session>();
  /** Places promised to initializes still talking to their targets. */
  #reserved = 0;
  readonly #sweeper: NodeJS.Timeout;
  readonly #unsubscribe: () => void;

  constructor(
    private readonly keyRing: KeyRing,
    private readonly options: SessionStoreOptions,
    private readonly revocations: Revocations,
    private readonly onEvict: (session: Session, reason: EvictReason) => void,
  ) {
    this.#sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(options.idleTtlMs, 30_000)));
    this.#sweeper.unref();
    this.#unsubscribe = revocations.onChange((change) => this.#revoked(change));
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Hold a place for a session about to be created: false when the store is full and every held
   * session is busy. Either add() the session or release() the place.
   */
  reserve(): boolean {
    if (!this.#makeRoom()) return false;
    this.#reserved += 1;
    return true;
  }

  release(): void {
    this.#reserved = Math.max(0, this.#reserved - 1);
  }

  /** A session created by initialize, into the place reserve() held. */
  add(session: Session): void {
    this.release();
    this.#sessions.set(session.id, session);
  }

  /**
   * The session a token names, for the backend a request arrived for. `hold: false` (DELETE) opens
   * a token not held without taking a place for it.
   */
  get(token: string, backend: McpBackend, hold = true, principal = ''): Lookup {
    // A session held here is found by its exact (canonical) token without decoding it: the usual case.
    const id = tokenId(token);
    const now = performance.now();
    const session = this.#sessions.get(id);
    if (session === undefined) return this.#open(token, backend, hold, principal, now);
    if (session.token !== token) return { missing: 'unknown' };
    if (session.backendId !== backend.id || session.principal !== principal)
      return { missing: 'other-backend' };
    if (this.#expired(session)) {
      this.#remove(session, 'expired');
      return { missing: 'expired' };
    }
    if (now - session.lastUsed >= REORDER_MS) {
      this.#sessions.delete(id);
      this.#sessions.set(id, session);
    }
    session.lastUsed = now;
    return { session };
  }

  /** A token not held here: issued by another replica, or dropped from memory. */
  #open(token: string, backend: McpBackend, hold: boolean, principal: string, now: number): Lookup {
    const parts = parseToken(token);
    if (!parts) return { missing: 'unknown' };
    if (this.revocations.has(parts.id)) return { missing: 'revoked' };
    const opened = Session.open(this.keyRing, token, backend, principal);
    if (opened === undefined) return { missing: 'unknown' };
    if (opened === 'other-backend') return { missing: opened };
    if (this.#expired(opened)) return { missing: 'expired' };
    const refused = this.revocations.refuses(opened.id, opened.issuedAt);
    if (refused) return { missing: refused };
    if (!hold) return { session: opened };
    if (!this.#makeRoom()) return { full: true };
    opened.lastUsed = now;
    this.#sessions.set(opened.id, opened);
    return { session: opened };
  }

  /** DELETE: revoke the session (every replica learns it) and forget it here. */
  delete(session: Session): void {
    this.#remove(session, 'deleted');
    this.revocations.revoke(session.id, session.issuedAt);
  }

  all(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  /** Drop sessions idle past the TTL from memory (their tokens still open) and those past their lifetime. */
  sweep(now = performance.now()): void {
    const idle = now - this.options.idleTtlMs;
    for (const session of this.#sessions.values()) {
      if (this.#expired(session)) this.#remove(session, 'expired');
      else if (session.lastUsed <= idle && !session.busy) this.#remove(session, 'idle');
    }
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.#unsubscribe();
    for (const session of [...this.#sessions.values()]) this.#remove(session, 'closed');
  }

  #expired(session: Session): boolean {
    return Date.now() - session.issuedAt >= this.options.maxLifetimeMs;
  }

  /**
   * Room for one more: drop the least recently used idle sessions until there is. Busy ones are
   * passed over (and keep their place); when every session is busy there is no room.
   */
  #makeRoom(): boolean {
    let excess = this.#sessions.size + this.#reserved + 1 - this.options.maxSessions;
    if (excess <= 0) return true;
    for (const session of this.#sessions.values()) {
      if (session.busy) continue;
      this.#remove(session, 'capacity');
      excess -= 1;
      if (excess <= 0) return true;
    }
    return false;
  }

  /** A peer's DELETE (or a raised floor): those sessions end here too, streams and all. */
  #revoked(change: RevocationChange): void {
    for (const [id] of change.revoked) {
      const session = this.#sessions.get(id);
      if (session) this.#remove(session, 'revoked');
    }
    if (!change.floorRaised) return;
    for (const session of this.#sessions.values()) {
      if (session.issuedAt < change.floor) this.#remove(session, 'revoked');
    }
  }

  #remove(session: Session, reason: EvictReason): void {
    if (this.#sessions.get(session.id) !== session) return;
    this.#sessions.delete(session.id);
    this.onEvict(session, reason);
  }
}
