/**
 * The atomic swap between control plane and proxy: one reference to the current routing table.
 *
 * publish() drops a table equal to the current one (no version bump, no listener churn), so a
 * rebuild that changes nothing costs nothing downstream.
 */
import { deepFreeze, EMPTY_TABLE, type RoutingTable, type RoutingTableContent } from './table.js';

export interface TableChange {
  readonly previous: RoutingTable;
  readonly next: RoutingTable;
  /** performance.now() of the earliest input change folded into this table (for discovery lag). */
  readonly changedAt: number;
}

export class TablePublisher {
  #current: RoutingTable = EMPTY_TABLE;
  #fingerprint = '';
  #ready = false;
  readonly #listeners = new Set<(change: TableChange) => void>();

  get current(): RoutingTable {
    return this.#current;
  }

  /** True once the first table was published (even an empty one): readiness. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Swap in a new table. Returns the published table, or undefined when it equals the current one. */
  publish(content: RoutingTableContent, changedAt = performance.now()): RoutingTable | undefined {
    const fingerprint = JSON.stringify(content);
    if (this.#ready && fingerprint === this.#fingerprint) return undefined;
    const previous = this.#current;
    const next = deepFreeze({ version: previous.version + 1, ...content });
    this.#current = next;
    this.#fingerprint = fingerprint;
    this.#ready = true;
    for (const listener of this.#listeners) listener({ previous, next, changedAt });
    return next;
  }

  onChange(listener: (change: TableChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
