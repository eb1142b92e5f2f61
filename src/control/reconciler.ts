/**
 * Level-triggered rebuilds: any store change marks the table dirty; after a short debounce the whole
 * store is translated again and the result published. A missed or coalesced event is corrected by the
 * next rebuild, because translate() always sees the whole world.
 */
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { TablePublisher } from '../shared/publisher.js';
import type { ObjectStatus } from '../shared/status.js';
import type { ResourceStore } from './sources/store.js';
import { type TranslateOptions, translate } from './translate/index.js';

export interface ReconcilerOptions {
  readonly store: ResourceStore;
  readonly publisher: TablePublisher;
  readonly translateOptions: TranslateOptions;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Quiet period before a rebuild. */
  readonly debounceMs: number;
  /** A burst never delays a rebuild longer than this since the first change. */
  readonly maxDelayMs?: number;
  /** Receives the statuses of each rebuild (the status writer, or nothing in standalone mode). */
  readonly onStatuses?: (statuses: readonly ObjectStatus[]) => void;
}

export class Reconciler {
  #timer: NodeJS.Timeout | undefined;
  /** performance.now() of the first change not yet folded into a published table. */
  #dirtySince: number | undefined;
  #enabled = false;
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly options: ReconcilerOptions) {}

  /** Start reacting to store changes. Call once sources have synced, so no table is built from a partial view. */
  start(): void {
    if (this.#enabled) return;
    this.#enabled = true;
    this.#unsubscribe = this.options.store.onChange(() => this.#markDirty());
    this.rebuild();
  }

  stop(): void {
    this.#enabled = false;
    this.#unsubscribe?.();
    clearTimeout(this.#timer);
  }

  /** Translate the whole store now and publish the result. Never throws: a failure keeps the old table. */
  rebuild(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const changedAt = this.#dirtySince ?? performance.now();
    this.#dirtySince = undefined;
    const { store, publisher, translateOptions, logger, metrics } = this.options;
    const started = performance.now();
    try {
      const result = translate(store.snapshot(), translateOptions);
      const published = publisher.publish(result.table, changedAt);
      metrics.reconcileDuration.observe((performance.now() - started) / 1000);
      metrics.reconciles.inc({ result: published ? 'changed' : 'unchanged' });
      if (published) {
        metrics.tableVersion.set(published.version);
        metrics.tableBuiltAt.set(Date.now() / 1000);
        logger.info(
          {
            version: published.version,
            listeners: published.listeners.length,
            ms: +(performance.now() - started).toFixed(2),
          },
          'routing table published',
        );
      }
      this.options.onStatuses?.(result.statuses);
    } catch (err) {
      metrics.reconciles.inc({ result: 'error' });
      logger.error({ err }, 'translate failed; the previous routing table keeps serving');
    }
  }

  #markDirty(): void {
    if (!this.#enabled) return;
    const now = performance.now();
    this.#dirtySince ??= now;
    const { debounceMs, maxDelayMs = debounceMs * 10 } = this.options;
    const waited = now - this.#dirtySince;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.rebuild(), Math.max(0, Math.min(debounceMs, maxDelayMs - waited)));
  }
}
