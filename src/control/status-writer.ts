/**
 * The status writer: takes the statuses translate() computes on every rebuild and, only while this
 * replica holds the Lease, writes those that differ from what the objects already show.
 *
 * - One coalescing slot per object: the newest desired status wins, one write in flight per object.
 * - "Differs" is judged against the store (fed by the watch), or against our own last write while the
 *   watch has not caught up with it, so our writes coming back never cause another write.
 * - Objects translate() no longer reports: our HTTPRoute `parents` entries are removed (a detached route
 *   must not keep claiming Accepted by us). Other kinds keep their status: when a Gateway or class moves
 *   to another controller, that controller owns and rewrites the whole status, and clearing it here
 *   would race with (and could erase) its writes; a deleted object has no status to clear.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { kindKey, objectKey } from '../shared/object-key.js';
import type { KindName } from '../shared/resources.js';
import type { ObjectRef, ObjectStatus } from '../shared/status.js';
import type { ResourceStore } from './sources/store.js';
import { apiFailure } from './status/api-call.js';
import { canonical, hasOurParents, metaTime, type SharedList } from './status/stamp.js';
import {
  ConflictsExhausted,
  type WriteContext,
  writeOwnedStatus,
  writeRouteParents,
} from './status/writes.js';

type JsonRecord = Record<string, unknown>;

export interface StatusWriterOptions {
  readonly kubeConfig: KubeConfig;
  readonly store: ResourceStore;
  readonly controllerName: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Writes in flight at once (becoming leader over many objects must not burst the API server). */
  readonly concurrency?: number;
  readonly requestTimeoutMs?: number;
  /** PUT attempts per round for a route whose resourceVersion keeps changing (409). */
  readonly conflictAttempts?: number;
  readonly conflictBackoffMs?: number;
  /** Backoff before retrying a failed write (5xx, timeout, refused); doubles up to `maxRetryBackoffMs`. */
  readonly retryBackoffMs?: number;
  readonly maxRetryBackoffMs?: number;
  readonly clock?: () => Date;
}

/** Kinds translate() reports status for; anything else is ignored. */
const WRITABLE: ReadonlySet<KindName> = new Set([
  'GatewayClass',
  'Gateway',
  'HTTPRoute',
  'Backend',
  'AgentgatewayBackend',
  'AgentgatewayPolicy',
]);

interface Desired {
  readonly ref: ObjectRef;
  readonly status: JsonRecord;
}

/** Our last successful write, to judge "unchanged" until the watch delivers it to the store. */
interface Written {
  readonly baseRv: string;
  readonly rv: string;
  readonly status: unknown;
}

export class StatusWriter {
  readonly #options: StatusWriterOptions;
  readonly #api: CustomObjectsApi;
  #desired = new Map<string, Desired>();
  readonly #dirty = new Set<string>();
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #retries = new Map<string, { attempts: number; timer?: NodeJS.Timeout }>();
  readonly #written = new Map<string, Written>();
  /** Desired status + object RV that the server rejected as invalid: not retried until either changes. */
  readonly #rejected = new Map<string, string>();
  #leading = false;
  /** Bumped on every leadership change; a write started under an old epoch must not go out. */
  #epoch = 0;
  #stopped = false;

  constructor(options: StatusWriterOptions) {
    this.#options = options;
    this.#api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** The statuses of one rebuild (the whole world): replaces everything desired before. */
  update(statuses: readonly ObjectStatus[]): void {
    const next = new Map<string, Desired>();
    for (const { ref, status } of statuses) {
      if (WRITABLE.has(ref.kind)) next.set(kindKey(ref.kind, ref.namespace, ref.name), { ref, status });
    }
    // Routes (policies) still showing our parents (ancestors) entries that translate() no longer
    // reports: remove ours.
    const snapshot = this.#options.store.snapshot();
    const shared = [
      ...snapshot.HTTPRoute.map((o) => ['HTTPRoute', o] as const),
      ...snapshot.AgentgatewayPolicy.map((o) => ['AgentgatewayPolicy', o] as const),
    ];
    for (const [kind, object] of shared) {
      const ref: ObjectRef = { kind, namespace: object.metadata.namespace, name: object.metadata.name };
      const key = kindKey(ref.kind, ref.namespace, ref.name);
      const field = SHARED_LISTS[kind] ?? 'parents';
      if (!next.has(key) && hasOurParents(object.status, this.#options.controllerName, field)) {
        next.set(key, { ref, status: { [field]: [] } });
      }
    }
    this.#desired = next;
    for (const key of this.#dirty) if (!next.has(key)) this.#dirty.delete(key);
    for (const key of next.keys()) this.#dirty.add(key);
    this.#pump();
  }

  /** Start writing (everything that differs) or stop at once; wire to the elector's callbacks. */
  setLeader(leading: boolean): void {
    if ((leading && this.#stopped) || leading === this.#leading) return;
    this.#leading = leading;
    this.#epoch++;
    for (const retry of this.#retries.values()) clearTimeout(retry.timer);
    this.#retries.clear();
    if (!leading) return;
    for (const key of this.#desired.keys()) this.#dirty.add(key);
    this.#pump();
  }

  /** Resolves once no write is in flight (pending retries excepted). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Stop writing and wait for requests already on the wire. */
  async stop(): Promise<void> {
    this.setLeader(false);
    this.#stopped = true;
    await this.idle();
  }

  #pump(): void {
    if (!this.#leading) return;
    const limit = this.#options.concurrency ?? 4;
    for (const key of this.#dirty) {
      if (this.#inFlight.size >= limit) return;
      if (this.#inFlight.has(key) || this.#retries.get(key)?.timer) continue;
      this.#dirty.delete(key);
      const run = this.#process(key).finally(() => {
        this.#inFlight.delete(key);
        this.#pump();
      });
      this.#inFlight.set(key, run);
    }
  }

  async #process(key: string): Promise<void> {
    const want = this.#desired.get(key);
    if (!want) return;
    const { ref } = want;
    const object = this.#options.store.get(ref.kind, objectKey(ref.namespace, ref.name));
    if (!object) return; // deleted, or not seen yet: a later rebuild brings it back
    const rv = object.metadata.resourceVersion ?? '';
    const signature = `${canonical(want.status)}@${rv}`;
    if (this.#rejected.get(key) === signature) return;
    const observed = this.#observed(key, rv, 'status' in object ? object.status : undefined);
    const ctx = this.#context(this.#epoch);
    try {
      const field = SHARED_LISTS[ref.kind];
      const outcome =
        field !== undefined
          ? await writeRouteParents(ctx, ref, listOf(want.status, field), observed, field)
          : await writeOwnedStatus(ctx, ref, want.status, observed, rv);
      if (outcome.kind === 'written') {
        this.#written.set(key, { baseRv: outcome.baseRv, rv: outcome.rv, status: outcome.status });
        this.#options.metrics.statusWrites.inc({ kind: ref.kind, result: 'ok' });
        this.#options.logger.debug(
          { kind: ref.kind, namespace: ref.namespace, name: ref.name },
          'status written',
        );
      }
      this.#retries.delete(key);
      this.#rejected.delete(key);
    } catch (err) {
      this.#failed(key, want, err, signature);
    }
  }

  /** The freshest status we know: our own write while the store still shows the version we wrote over. */
  #observed(key: string, storeRv: string, storeStatus: unknown): unknown {
    const written = this.#written.get(key);
    if (written && storeRv === written.baseRv) return written.status;
    if (written && storeRv !== written.rv) this.#written.delete(key); // someone wrote since: trust the store
    return storeStatus;
  }

  #context(epoch: number): WriteContext {
    const o = this.#options;
    const clock = o.clock ?? (() => new Date());
    return {
      api: this.#api,
      controllerName: o.controllerName,
      requestTimeoutMs: o.requestTimeoutMs ?? 10_000,
      conflictAttempts: o.conflictAttempts ?? 5,
      conflictBackoffMs: o.conflictBackoffMs ?? 100,
      now: () => metaTime(clock()),
      allowed: () => this.#leading && this.#epoch === epoch,
      onConflict: () => o.metrics.statusWrites.inc({ kind: 'HTTPRoute', result: 'conflict' }),
    };
  }

  #failed(key: string, want: Desired, err: unknown, signature: string): void {
    const { logger, metrics } = this.#options;
    const { kind, namespace, name } = want.ref;
    const failure = apiFailure(err);
    if (failure.code === 404) {
      logger.debug({ kind, namespace, name }, 'status not written: the object is gone');
      return;
    }
    const exhausted = err instanceof ConflictsExhausted;
    if (!exhausted) metrics.statusWrites.inc({ kind, result: 'error' });
    const fields = {
      kind,
      namespace,
      name,
      code: failure.code,
      reason: failure.reason,
      error: failure.message,
    };
    // A 4xx other than conflict/throttling will fail the same way again: wait for a new status or object.
    const permanent =
      failure.code !== undefined &&
      failure.code >= 400 &&
      failure.code < 500 &&
      ![408, 409, 429].includes(failure.code);
    if (permanent) {
      logger.error(fields, 'status write rejected by the API server');
      this.#rejected.set(key, signature);
      return;
    }
    logger.warn(
      fields,
      exhausted ? 'status write kept conflicting; will retry' : 'status write failed; will retry',
    );
    this.#scheduleRetry(key);
  }

  #scheduleRetry(key: string): void {
    if (!this.#leading) return;
    const retry = this.#retries.get(key) ?? { attempts: 0 };
    retry.attempts++;
    const initial = this.#options.retryBackoffMs ?? 1000;
    const delay = Math.min(this.#options.maxRetryBackoffMs ?? 30_000, initial * 2 ** (retry.attempts - 1));
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      this.#dirty.add(key);
      this.#pump();
    }, delay);
    retry.timer.unref();
    this.#retries.set(key, retry);
  }
}

/**
 * Kinds whose status is one list several controllers write into: ours are replaced, others' kept
 * (agentgateway's controller may run beside mcplane while a team moves over).
 */
const SHARED_LISTS: Partial<Record<KindName, SharedList>> = {
  HTTPRoute: 'parents',
  AgentgatewayPolicy: 'ancestors',
};

function listOf(status: JsonRecord, field: SharedList): readonly unknown[] {
  const list = status[field];
  return Array.isArray(list) ? list : [];
}
