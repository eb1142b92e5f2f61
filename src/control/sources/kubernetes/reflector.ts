/**
 * One reflector per kind (docs/kubernetes-client.md section 2): list, then watch from the list's
 * resourceVersion; re-watch on a clean close, relist on 410, back off (full jitter) on everything else,
 * and never give up until stop(). Every attempt belongs to a generation: stop() bumps it, aborts the
 * in-flight request, and any late callback of an old attempt is ignored.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { withDeadline } from '../../../shared/deadline.js';
import type { Logger } from '../../../shared/logger.js';
import type { Metrics } from '../../../shared/metrics.js';
import type { KindInfo, KindName } from '../../../shared/resources.js';
import type { ResourceStore } from '../store.js';
import { classify, describe, type KubeError } from './errors.js';
import { collectionPath, listAll, pageFetcher } from './list.js';
import { ObjectCache } from './object-cache.js';
import { backoffDelay, jittered, type ReflectorTimings, sleep, watchTimeoutSeconds } from './timings.js';
import { watchStream } from './watch-stream.js';

export interface ReflectorOptions {
  name: KindName;
  info: KindInfo<unknown>;
  kubeConfig: KubeConfig;
  store: ResourceStore;
  logger: Logger;
  metrics: Metrics;
  timings: ReflectorTimings;
  labelSelector?: string;
  /** Called whenever `state` or `synced` changes. */
  onChange: () => void;
}

type Step = 'list' | 'watch';

export class Reflector {
  readonly #o: ReflectorOptions;
  readonly #cache: ObjectCache;
  readonly #log: Logger;
  readonly #fetchPage: ReturnType<typeof pageFetcher>;
  #generation = 0;
  #abort: AbortController | undefined;
  #running: Promise<void> | undefined;
  #synced = false;
  #state = 'syncing';
  #lastRV = '';
  #failures = 0;
  #nextResyncAt = 0;

  constructor(options: ReflectorOptions) {
    this.#o = options;
    this.#log = options.logger.child({ reflector: options.name });
    this.#cache = new ObjectCache(options.name, options.info, options.store, this.#log, options.metrics);
    this.#fetchPage = pageFetcher(options.kubeConfig, options.info);
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** 'syncing' | 'synced' | 'absent' | 'error: <reason>' (the latest attempt's outcome). */
  get state(): string {
    return this.#state;
  }

  start(): void {
    if (this.#running) return;
    const generation = ++this.#generation;
    this.#abort = new AbortController();
    this.#running = this.#run(generation, this.#abort.signal).catch((err: unknown) => {
      // #run handles every expected failure; this is a bug, but it must not take the process down.
      this.#log.error({ err }, 'reflector loop crashed');
    });
  }

  /** Stop for good: no further requests, callbacks or store writes; open connections are closed. */
  async stop(): Promise<void> {
    this.#generation++;
    this.#abort?.abort();
    await this.#running;
    this.#running = undefined;
  }

  #live(generation: number): boolean {
    return generation === this.#generation;
  }

  async #run(generation: number, signal: AbortSignal): Promise<void> {
    let relist = true;
    while (this.#live(generation)) {
      if (relist || Date.now() >= this.#nextResyncAt) {
        if (!relist) this.#restart('resync');
        relist = !(await this.#list(generation, signal));
        continue;
      }
      relist = await this.#watch(generation, signal);
    }
  }

  /** One full list. Returns true when applied; otherwise it has already waited (backoff or poll). */
  async #list(generation: number, signal: AbortSignal): Promise<boolean> {
    const { listTimeoutMs, pageSize } = this.#o.timings;
    const deadline = withDeadline(signal, listTimeoutMs);
    const listing = listAll(this.#fetchPage, deadline.signal, pageSize, this.#o.labelSelector);
    const outcome = await listing.finally(deadline.clear);
    if (!this.#live(generation)) return false;
    if (!outcome.ok) {
      if (outcome.error.status === 404 && this.#o.info.optional) {
        this.#absent();
        await sleep(this.#o.timings.absentPollMs, signal);
        return false;
      }
      // The client reports any abort as "The user aborted a request": say that the deadline cut it.
      const error: KubeError = deadline.signal.aborted
        ? { code: 'LIST_TIMEOUT', message: `no complete list within ${listTimeoutMs} ms` }
        : outcome.error;
      await this.#fail(signal, error, 'list');
      return false;
    }
    const diff = this.#cache.applyList(outcome.result.items);
    this.#lastRV = outcome.result.resourceVersion;
    this.#nextResyncAt = Date.now() + jittered(this.#o.timings, this.#o.timings.resyncMs);
    this.#touch();
    this.#log.debug({ ...diff, resourceVersion: this.#lastRV }, 'listed');
    this.#healthy();
    return true;
  }

  /** One watch from #lastRV. Returns true when a relist is needed. */
  async #watch(generation: number, signal: AbortSignal): Promise<boolean> {
    const t = this.#o.timings;
    const startedAt = Date.now();
    let events = 0;
    let expired = false;
    const end = await watchStream({
      kubeConfig: this.#o.kubeConfig,
      path: collectionPath(this.#o.info),
      query: {
        resourceVersion: this.#lastRV,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(watchTimeoutSeconds(t)),
        labelSelector: this.#o.labelSelector,
      },
      connectTimeoutMs: t.connectTimeoutMs,
      inactivityMs: t.inactivityMs,
      signal,
      onOpen: () => {
        if (this.#live(generation)) this.#healthy();
      },
      onEvent: (type, object) => {
        if (!this.#live(generation)) return;
        if (this.#onEvent(type, object)) expired = true;
        else if (type !== 'ERROR') events++;
      },
    });
    if (!this.#live(generation) || end.type === 'aborted') return false;
    const lifetime = Date.now() - startedAt;
    if (events > 0 || lifetime >= t.backoffResetMs) this.#failures = 0;
    if (expired) {
      this.#restart('expired');
      // The first 410 relists at once; a server that keeps answering 410 gets backoff, not a hot loop.
      if (this.#failures++ > 0) await sleep(backoffDelay(t, this.#failures), signal);
      return true;
    }
    if (end.type === 'closed') {
      if (lifetime < t.minWatchLifetimeMs && events === 0) {
        // An instant, empty close, again and again, is the #1933 hot loop: back off instead.
        await this.#fail(
          signal,
          { code: 'SHORT_WATCH', message: `watch closed after ${lifetime} ms` },
          'watch',
        );
        return false;
      }
      this.#restart('closed');
      return false;
    }
    const action = classify(end.error);
    if (action === 'relist' || (action === 'not-found' && this.#o.info.optional)) {
      this.#restart(action === 'relist' ? 'expired' : 'not-found');
      if (this.#failures++ > 0) await sleep(backoffDelay(t, this.#failures), signal);
      return true;
    }
    await this.#fail(signal, end.error, 'watch');
    return false;
  }

  /** Apply one event. Returns true for an in-stream 410 (relist once the stream ends). */
  #onEvent(type: string, object: unknown): boolean {
    const meta = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
    if (type === 'ERROR') {
      const status = object as { code?: unknown; message?: unknown } | null;
      if (status?.code === 410) return true;
      this.#log.warn({ status }, 'watch ERROR event');
      return false;
    }
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
      this.#cache.applyEvent(type, object);
    } else if (type !== 'BOOKMARK') {
      this.#log.warn({ type }, 'unknown watch event type ignored');
      return false;
    }
    if (typeof meta?.resourceVersion === 'string' && meta.resourceVersion)
      this.#lastRV = meta.resourceVersion;
    this.#touch();
    return false;
  }

  /** Record a failure, set readiness, and wait out the backoff. */
  async #fail(signal: AbortSignal, error: KubeError, step: Step): Promise<void> {
    const t = this.#o.timings;
    const action = classify(error);
    this.#failures++;
    let cap = t.backoffCapMs;
    if (action === 'forbidden') {
      cap = t.forbiddenCapMs;
      this.#setState(`error: RBAC: cannot ${step} ${this.#o.info.plural}`);
    } else if (action === 'not-found') {
      this.#setState(`error: ${this.#o.info.plural} not installed (404 on ${step})`);
    } else {
      this.#setState(`error: ${step}: ${describe(error)}`);
    }
    this.#restart(action === 'retry' ? 'error' : action);
    let delay = backoffDelay(t, this.#failures, cap);
    if (error.retryAfterMs !== undefined) delay = Math.max(delay, Math.min(error.retryAfterMs, cap));
    this.#log.warn(
      { step, error: describe(error), failures: this.#failures, delayMs: delay },
      `${step} failed`,
    );
    await sleep(delay, signal);
  }

  #absent(): void {
    this.#cache.clear();
    this.#lastRV = '';
    this.#restart('absent');
    if (this.#state !== 'absent') this.#log.info(`${this.#o.info.plural} not installed: treated as empty`);
    this.#markSynced();
    this.#setState('absent');
  }

  #healthy(): void {
    this.#markSynced();
    this.#setState('synced');
  }

  #markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    this.#o.metrics.reflectorSynced.set({ kind: this.#o.name }, 1);
    this.#o.onChange();
  }

  #setState(state: string): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#o.onChange();
  }

  #restart(reason: string): void {
    this.#o.metrics.reflectorRestarts.inc({ kind: this.#o.name, reason });
  }

  #touch(): void {
    this.#o.metrics.reflectorLastEvent.set({ kind: this.#o.name }, Date.now() / 1000);
  }
}
