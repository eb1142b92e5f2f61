/**
 * Sessions ended by DELETE, here or on a peer replica: session id (the token's nonce) → issue time.
 * Bounded: an entry goes when its session would have expired anyway (issue time + max lifetime),
 * and when the set is full a "not issued before" floor rises instead: every session issued before
 * it is refused (deleted or not), which frees the oldest tenth of the entries. That is the trade-off
 * of --max-revoked-sessions: past it, some live sessions end early (their clients start over), but
 * a deleted session never comes back. The floor travels to peers with the revocations.
 *
 * Kept as `Map<string, number>` (16-character id → issue time in seconds, a small integer): about
 * 70 bytes an entry, id included, and ~160 while it is also in the two-minute log of recent
 * additions that incremental pulls read (test/proxy/mcp/session/revocations.test.ts measures it).
 */

export type RevokedEntry = readonly [id: string, issuedAtSeconds: number];

export interface RevocationChange {
  /** Revoked here (DELETE) or learnt from a peer. */
  readonly origin: 'local' | 'peer';
  /** The entries that were new. */
  readonly revoked: readonly RevokedEntry[];
  /** The floor after the change (ms since the epoch; 0 for none). */
  readonly floor: number;
  readonly floorRaised: boolean;
}

export interface RevocationOptions {
  readonly maxEntries: number;
  readonly lifetimeMs: number;
  readonly now?: () => number;
  /** Told the number of entries after every change (the metric). */
  readonly onSize?: (size: number) => void;
}

/** How long recent additions are remembered for peers that ask only for what is new. */
const RECENT_MS = 120_000;
const SECOND = 1000;

export class Revocations {
  readonly #entries = new Map<string, number>();
  readonly #listeners = new Set<(change: RevocationChange) => void>();
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;
  #floor = 0;
  /** Additions in order, [ms added, id], for `since()`; covers everything added at or after #recentFrom. */
  #recent: [number, string][] = [];
  #recentFrom: number;

  constructor(private readonly options: RevocationOptions) {
    this.#now = options.now ?? Date.now;
    this.#recentFrom = this.#now();
    this.#sweeper = setInterval(() => this.sweep(), 60_000);
    this.#sweeper.unref();
  }

  close(): void {
    clearInterval(this.#sweeper);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Sessions issued before this time (ms) are refused; 0 while the set has never overflowed. */
  get floor(): number {
    return this.#floor;
  }

  /** Whether a session is refused: revoked, or issued before the floor. */
  refuses(id: string, issuedAt: number): 'revoked' | 'floor' | undefined {
    if (this.#entries.has(id)) return 'revoked';
    return issuedAt < this.#floor ? 'floor' : undefined;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  onChange(listener: (change: RevocationChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A DELETE answered here. */
  revoke(id: string, issuedAt: number): void {
    const before = this.#floor;
    const seconds = Math.floor(issuedAt / SECOND);
    if (!this.#add(id, seconds)) return;
    const floorRaised = this.#floor > before;
    this.#emit({ origin: 'local', revoked: [[id, seconds]], floor: this.#floor, floorRaised });
  }

  /** Revocations and the floor a peer sent (already authenticated); returns the ids that were new. */
  merge(entries: readonly RevokedEntry[], floor: number): readonly RevokedEntry[] {
    const before = this.#floor;
    // A floor is never set ahead of now: a peer's clock cannot end sessions that start later.
    if (floor > this.#floor) this.#raise(Math.min(floor, this.#now()));
    const added: RevokedEntry[] = [];
    for (const entry of entries) if (this.#add(entry[0], entry[1])) added.push(entry);
    const floorRaised = this.#floor > before;
    if (added.length > 0 || floorRaised) {
      this.#emit({ origin: 'peer', revoked: added, floor: this.#floor, floorRaised });
    }
    return added;
  }

  /** Every entry, or (when `since` is recent enough to be answered exactly) those added since then. */
  entries(since = 0): RevokedEntry[] {
    const out: RevokedEntry[] = [];
    this.#trimRecent();
    if (since > 0 && since >= this.#recentFrom) {
      for (const [at, id] of this.#recent) {
        const seconds = at >= since ? this.#entries.get(id) : undefined;
        if (seconds !== undefined) out.push([id, seconds]);
      }
      return out;
    }
    for (const entry of this.#entries) out.push(entry);
    return out;
  }

  /** Drop entries whose sessions have expired anyway (their tokens are refused by their age). */
  sweep(): void {
    const oldest = Math.floor((this.#now() - this.options.lifetimeMs) / SECOND);
    for (const [id, seconds] of this.#entries) if (seconds < oldest) this.#entries.delete(id);
    this.#trimRecent();
    this.options.onSize?.(this.#entries.size);
  }

  /** Stored (or already covered by the floor or by expiry): false when nothing changed. */
  #add(id: string, seconds: number): boolean {
    if (this.#entries.has(id)) return false;
    const now = this.#now();
    if (seconds * SECOND + this.options.lifetimeMs <= now) return false;
    if (seconds * SECOND + SECOND <= this.#floor) return false;
    if (this.#entries.size >= this.options.maxEntries) {
      this.sweep();
      if (this.#entries.size >= this.options.maxEntries) this.#overflow();
      if (seconds * SECOND + SECOND <= this.#floor) return true;
    }
    this.#entries.set(id, seconds);
    this.#recent.push([now, id]);
    if (this.#recent.length > this.options.maxEntries) this.#trimRecent(true);
    return true;
  }

  /** Full: raise the floor past the oldest tenth of the entries. */
  #overflow(): void {
    const issued = [...this.#entries.values()].sort((a, b) => a - b);
    const cut = issued[Math.max(0, Math.ceil(issued.length / 10) - 1)] ?? 0;
    this.#raise((cut + 1) * SECOND);
  }

  #raise(floor: number): void {
    this.#floor = floor;
    for (const [id, seconds] of this.#entries)
      if (seconds * SECOND + SECOND <= floor) this.#entries.delete(id);
  }

  /** Forget additions older than RECENT_MS (and, when `overLength`, down to 90 % of the cap). */
  #trimRecent(overLength = false): void {
    const horizon = this.#now() - RECENT_MS;
    const keep = overLength ? Math.floor(this.options.maxEntries * 0.9) : this.#recent.length;
    let drop = 0;
    while (drop < this.#recent.length) {
      const at = this.#recent[drop]![0];
      if (at >= horizon && this.#recent.length - drop <= keep) break;
      this.#recentFrom = at + 1;
      drop += 1;
    }
    if (drop > 0) this.#recent = this.#recent.slice(drop);
  }

  #emit(change: RevocationChange): void {
    this.options.onSize?.(this.#entries.size);
    for (const listener of this.#listeners) listener(change);
  }
}
