/**
 * Leader election on a coordination.k8s.io/v1 Lease, modelled on client-go's leaderelection (the
 * client library has none). Only the leader writes status; every replica serves traffic.
 *
 * - Acquire: GET the Lease; 404 → create it. Held by another → it is expired only when *we* have seen
 *   no change (resourceVersion) for its leaseDurationSeconds: never compare against their clock.
 *   Take over with a PUT carrying the resourceVersion (409 = someone else won), leaseTransitions + 1.
 * - Renew every retryPeriod. No successful renew within renewDeadline → step down first (a watchdog
 *   timer, so a hung request cannot delay it), then keep contending.
 * - stop(): release (holder cleared, leaseDurationSeconds 1) so a successor takes over at once.
 *
 * Lease times must be MicroTime (6 fractional digits): a JS Date serialises with 3 and the API server
 * answers 400, so every time we send is a V1MicroTime.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type ConfigurationOptions,
  CoordinationV1Api,
  type KubeConfig,
  type V1Lease,
  V1MicroTime,
} from '@kubernetes/client-node';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { apiFailure, timedCall } from './status/api-call.js';

export interface LeaderElectorOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** The Lease name. */
  readonly name: string;
  /** Unique per replica: pod name plus a random suffix. */
  readonly identity: string;
  /** Written as leaseDurationSeconds (rounded up to whole seconds, at least 1). */
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** Per-request timeout; default max(retryPeriod, renewDeadline / 2), so a hung call is retried in time. */
  readonly requestTimeoutMs?: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A Lease holder identity unique per process: the pod name (the hostname in Kubernetes) plus a suffix. */
export function replicaIdentity(podName = process.env.POD_NAME ?? hostname()): string {
  return `${podName}-${randomBytes(4).toString('hex')}`;
}

/** Followers retry at retryPeriod × (1 + random × JITTER), so replicas do not contend in lockstep. */
const JITTER = 0.5;

type Listener = () => void;

export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #o: Required<Omit<LeaderElectorOptions, 'kubeConfig'>>;
  readonly #leaseSeconds: number;
  readonly #started = new Set<Listener>();
  readonly #stopped = new Set<Listener>();
  #leading = false;
  #running = false;
  #loop: Promise<void> | undefined;
  /** The Lease as we last wrote or read it (its resourceVersion is the next PUT's precondition). */
  #lease: V1Lease | undefined;
  /** When (performance.now) we last saw the Lease's resourceVersion change. */
  #observed: { rv: string; at: number } | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #abort = new AbortController();
  #wake: (() => void) | undefined;

  constructor(options: LeaderElectorOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(retryPeriodMs > 0 && renewDeadlineMs > retryPeriodMs && leaseDurationMs > renewDeadlineMs)) {
      throw new Error(
        `leader election timings must satisfy leaseDuration > renewDeadline > retryPeriod > 0 ` +
          `(got ${leaseDurationMs} / ${renewDeadlineMs} / ${retryPeriodMs} ms)`,
      );
    }
    this.#o = {
      ...options,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
      requestTimeoutMs: options.requestTimeoutMs ?? Math.max(retryPeriodMs, renewDeadlineMs / 2),
    };
    this.#leaseSeconds = Math.max(1, Math.ceil(leaseDurationMs / 1000));
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  onStartedLeading(listener: Listener): void {
    this.#started.add(listener);
  }

  onStoppedLeading(listener: Listener): void {
    this.#stopped.add(listener);
  }

  /** Begin contending; runs until stop(). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    this.#loop = this.#run();
  }

  /** Stop contending; if leading, step down and release the Lease so a successor need not wait. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
    if (this.#leading) {
      this.#stepDown('stopping');
      await this.#release();
    }
  }

  async #run(): Promise<void> {
    while (this.#running) {
      await this.#tryAcquireOrRenew();
      if (!this.#running) return;
      const period = this.#o.retryPeriodMs;
      await this.#sleep(this.#leading ? period : period * (1 + Math.random() * JITTER));
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  async #tryAcquireOrRenew(): Promise<void> {
    // Fast path, as client-go: the leader renews against the Lease it last wrote, one PUT.
    if (this.#leading && this.#lease && (await this.#put(this.#renewal(this.#lease), 'renew'))) return;
    let lease: V1Lease;
    try {
      lease = await this.#call((options) => this.#api.readNamespacedLease(this.#where(), options));
    } catch (err) {
      const failure = apiFailure(err);
      if (failure.code === 404) return this.#create();
      this.#o.logger.warn({ lease: this.#o.name, error: failure.message }, 'cannot read the leader Lease');
      return;
    }
    this.#observe(lease);
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder === this.#o.identity) {
      await this.#put(this.#renewal(lease), 'renew');
      return;
    }
    if (holder && !this.#expired(lease)) {
      this.#lease = lease;
      if (this.#leading) this.#stepDown(`the Lease is held by ${holder}`);
      return;
    }
    await this.#put(this.#takeover(lease), 'acquire');
  }

  async #create(): Promise<void> {
    const now = new V1MicroTime();
    const body: V1Lease = {
      metadata: { name: this.#o.name, namespace: this.#o.namespace },
      spec: {
        holderIdentity: this.#o.identity,
        leaseDurationSeconds: this.#leaseSeconds,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      },
    };
    try {
      this.#succeeded(
        await this.#call((options) =>
          this.#api.createNamespacedLease({ namespace: this.#o.namespace, body }, options),
        ),
      );
    } catch (err) {
      const failure = apiFailure(err);
      if (failure.code === 409) return; // another replica created it first
      this.#o.logger.warn({ lease: this.#o.name, error: failure.message }, 'cannot create the leader Lease');
    }
  }

  /** PUT with the Lease's resourceVersion. Returns whether we now hold it. */
  async #put(body: V1Lease, what: 'renew' | 'acquire' | 'release'): Promise<boolean> {
    try {
      const answer = await this.#call(
        (options) => this.#api.replaceNamespacedLease({ ...this.#where(), body }, options),
        // The release runs after stop() aborted the loop's signal: it gets only its timeout.
        what !== 'release',
      );
      if (what === 'release') return false;
      this.#succeeded(answer);
      return true;
    } catch (err) {
      const failure = apiFailure(err);
      // 409: the Lease changed since we read it (another replica renewed or took over): re-read next time.
      if (failure.code === 409) this.#lease = undefined;
      // A request aborted by stop() is no news; a failed release is (the successor must wait).
      if (failure.code !== 409 && (this.#running || what === 'release')) {
        this.#o.logger.warn(
          { lease: this.#o.name, error: failure.message },
          `cannot ${what} the leader Lease`,
        );
      }
      return false;
    }
  }

  #succeeded(lease: V1Lease): void {
    this.#lease = lease;
    this.#observe(lease);
    clearTimeout(this.#deadline);
    this.#deadline = setTimeout(
      () => this.#stepDown('no successful renew within renewDeadline'),
      this.#o.renewDeadlineMs,
    );
    if (this.#leading) return;
    this.#leading = true;
    this.#o.metrics.leader.set(1);
    this.#o.logger.info({ lease: this.#o.name, identity: this.#o.identity }, 'became leader');
    this.#emit(this.#started);
  }

  #stepDown(why: string): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if (!this.#leading) return;
    this.#leading = false;
    this.#o.metrics.leader.set(0);
    this.#o.logger.warn({ lease: this.#o.name, identity: this.#o.identity, why }, 'stopped leading');
    this.#emit(this.#stopped);
  }

  async #release(): Promise<void> {
    const lease = this.#lease;
    if (!lease?.spec || lease.spec.holderIdentity !== this.#o.identity) return;
    const now = new V1MicroTime();
    const { holderIdentity: _, ...spec } = lease.spec;
    await this.#put(
      { ...lease, spec: { ...spec, leaseDurationSeconds: 1, acquireTime: now, renewTime: now } },
      'release',
    );
    this.#lease = undefined;
  }

  #observe(lease: V1Lease): void {
    const rv = lease.metadata?.resourceVersion ?? '';
    if (this.#observed?.rv !== rv) this.#observed = { rv, at: performance.now() };
  }

  /** Expired by our own observation: no change seen for the holder's leaseDurationSeconds. */
  #expired(lease: V1Lease): boolean {
    const seconds = lease.spec?.leaseDurationSeconds ?? this.#leaseSeconds;
    return !this.#observed || performance.now() - this.#observed.at > seconds * 1000;
  }

  #renewal(lease: V1Lease): V1Lease {
    return {
      ...lease,
      spec: { ...lease.spec, leaseDurationSeconds: this.#leaseSeconds, renewTime: new V1MicroTime() },
    };
  }

  #takeover(lease: V1Lease): V1Lease {
    const now = new V1MicroTime();
    return {
      ...lease,
      spec: {
        ...lease.spec,
        holderIdentity: this.#o.identity,
        leaseDurationSeconds: this.#leaseSeconds,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1,
      },
    };
  }

  #where() {
    return { name: this.#o.name, namespace: this.#o.namespace };
  }

  /** One API call under the request timeout; `stoppable` calls are also cut by stop(). */
  #call<T>(call: (options: ConfigurationOptions) => Promise<T>, stoppable = true): Promise<T> {
    return timedCall(this.#o.requestTimeoutMs, call, stoppable ? { signal: this.#abort.signal } : {});
  }

  #emit(listeners: ReadonlySet<Listener>): void {
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        this.#o.logger.error({ err }, 'leader election callback failed');
      }
    }
  }
}
