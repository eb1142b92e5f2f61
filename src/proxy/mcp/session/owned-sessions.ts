/**
 * The upstream sessions the gateway holds for 2026-07-28 clients (issue 12). A modern client has
 * no session; a legacy target needs one. So the gateway owns one per route, backend and identity —
 * shared by every modern client of that identity, never per client: a modern client costs nothing
 * between its requests. Bounded (the least recently used, to within REORDER_MS, goes first) and
 * idle-expired; a 2026 target needs none (its state is stateless, only its probed capabilities are
 * kept).
 */
import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../wire/jsonrpc.js';
import { GATEWAY_NAME, GATEWAY_VERSION, SUPPORTED_VERSIONS } from '../wire/protocol-version.js';
import { Session } from './session.js';
import { REORDER_MS } from './session-store.js';

export interface OwnedSessionLimits {
  /** Owned sessions held at once (route × backend × identity). */
  readonly maxSessions: number;
  /** An owned session unused this long is dropped (its upstream sessions expire upstream). */
  readonly idleMs: number;
}

/**
 * What the gateway tells a legacy target when it starts an upstream session for modern clients:
 * its own identity, and the client capabilities a 2026 client may answer through `input_required`
 * (mux/modern.ts refuses a target's request the calling client did not declare).
 */
const OWNED_PARAMS: JsonObject = {
  protocolVersion: SUPPORTED_VERSIONS[0],
  capabilities: { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} },
  clientInfo: { name: GATEWAY_NAME, version: GATEWAY_VERSION },
};

export class OwnedSessions {
  /** Map order is use order: the first entry is the least recently used. */
  readonly #sessions = new Map<string, Session>();

  constructor(
    readonly limits: OwnedSessionLimits,
    /** An owned session left (evicted or idle): close what it holds. */
    readonly onDrop: (session: Session) => void = (session) => session.close(),
  ) {}

  get size(): number {
    return this.#sessions.size;
  }

  /** The owned session of (route, backend, identity), made on first use. */
  get(routeId: string, backendId: string, principal: string): Session {
    const key = `${routeId}\n${backendId}\n${principal}`;
    const now = performance.now();
    let session = this.#sessions.get(key);
    if (session && now - session.lastUsed > this.limits.idleMs) {
      this.#drop(key, session);
      session = undefined;
    }
    if (session) {
      // Moved to the end of the use order at most once per REORDER_MS (as the session store does).
      if (now - session.lastUsed >= REORDER_MS) {
        this.#sessions.delete(key);
        this.#sessions.set(key, session);
      }
    } else {
      this.#sweep(now);
      const id = randomBytes(12).toString('base64url');
      session = new Session(
        '',
        id,
        backendId,
        SUPPORTED_VERSIONS[0],
        OWNED_PARAMS,
        Date.now(),
        [],
        0,
        principal,
      );
      this.#sessions.set(key, session);
    }
    session.lastUsed = now;
    return session;
  }

  /** Drop idle sessions (oldest first) and, at the bound, the least recently used. */
  #sweep(now: number): void {
    for (const [key, session] of this.#sessions) {
      if (now - session.lastUsed <= this.limits.idleMs && this.#sessions.size < this.limits.maxSessions)
        break;
      this.#drop(key, session);
    }
  }

  #drop(key: string, session: Session): void {
    this.#sessions.delete(key);
    this.onDrop(session);
  }

  close(): void {
    for (const [key, session] of this.#sessions) this.#drop(key, session);
  }
}
