/**
 * Upstream health per backend and target. Passive: every hop reports how it ended (upstream-call.ts);
 * `failureThreshold` consecutive failures — unreachable, timed out, or a 5xx — mark the target down,
 * and any answer (a 4xx refusal too: the server is there) marks it up. Active: with a probe interval
 * every target of the table is probed (health-probe.ts); without one only down targets are, every
 * DOWN_PROBE_MS, so a target can come back although nobody calls it. A target down for `graceMs`
 * leaves merged lists (its tools would only time out) and comes back when it answers again; both
 * changes are announced with list_changed (`onEvent`).
 *
 * Only targets with failures have an entry, so the hop path of a healthy target is one map lookup.
 */
import type { TargetHealth } from '../../../shared/metrics.js';
import type { McpBackend, McpTarget } from '../../../shared/table.js';
import type { UpstreamError } from '../../upstream/errors.js';

/** How often down targets are probed when --upstream-probe-interval is off. */
export const DOWN_PROBE_MS = 5_000;

export interface HealthOptions {
  /** --upstream-failure-threshold */
  readonly failureThreshold: number;
  /** --upstream-probe-interval (0: only down targets are probed, every DOWN_PROBE_MS). */
  readonly probeIntervalMs: number;
  /** --upstream-down-grace */
  readonly graceMs: number;
}

interface Failing {
  failures: number;
  /** When the target went down (performance.now()), once it has. */
  downAt: number | undefined;
  /** Left out of merged lists. */
  unlisted: boolean;
}

/** What changed about a target: down, up again, left out of merged lists, back in them. */
export type HealthEvent = 'down' | 'up' | 'unlisted' | 'listed';

export type Probe = (backend: McpBackend, target: McpTarget) => Promise<void>;

export class Health {
  /** backend id → target name → its failures. */
  readonly #failing = new Map<string, Map<string, Failing>>();
  #backends: readonly McpBackend[] = [];
  #timer: NodeJS.Timeout | undefined;
  #probe: Probe | undefined;

  constructor(
    readonly options: HealthOptions,
    /** A target went down or up, left merged lists or came back (the service logs and notifies). */
    readonly onEvent: (backendId: string, target: string, event: HealthEvent) => void = () => {},
  ) {}

  /** Start probing with `probe` (the service's; not in tests that drive health by hand). */
  start(probe: Probe): void {
    this.#probe = probe;
    const every = this.options.probeIntervalMs > 0 ? this.options.probeIntervalMs : DOWN_PROBE_MS;
    this.#timer = setInterval(() => this.tick(), every);
    this.#timer.unref();
  }

  /** The backends the routing table serves now (targets that left are forgotten). */
  retain(backends: readonly McpBackend[]): void {
    this.#backends = backends;
    const names = new Map(backends.map((b) => [b.id, new Set(b.targets.map((t) => t.name))]));
    for (const [id, targets] of this.#failing) {
      const kept = names.get(id);
      for (const name of targets.keys()) if (!kept?.has(name)) targets.delete(name);
      if (targets.size === 0) this.#failing.delete(id);
    }
  }

  /** A hop to the target got an answer. */
  answered(backend: string, target: string): void {
    const targets = this.#failing.get(backend);
    if (targets === undefined) return;
    const failing = targets.get(target);
    if (failing === undefined) return;
    targets.delete(target);
    if (targets.size === 0) this.#failing.delete(backend);
    if (failing.downAt !== undefined) this.onEvent(backend, target, 'up');
    if (failing.unlisted) this.onEvent(backend, target, 'listed');
  }

  /** A hop to the target failed: counts when the target, not the client or the gateway, failed. */
  failed(backend: string, target: string, error: UpstreamError): void {
    if (!countsAgainst(error)) {
      if (error.failure === 'status') this.answered(backend, target);
      return;
    }
    let targets = this.#failing.get(backend);
    if (targets === undefined) {
      targets = new Map();
      this.#failing.set(backend, targets);
    }
    let failing = targets.get(target);
    if (failing === undefined) {
      failing = { failures: 0, downAt: undefined, unlisted: false };
      targets.set(target, failing);
    }
    failing.failures += 1;
    if (failing.downAt === undefined && failing.failures >= this.options.failureThreshold) {
      failing.downAt = performance.now();
      this.onEvent(backend, target, 'down');
    }
  }

  isUp(backend: string, target: string): boolean {
    return this.#failing.get(backend)?.get(target)?.downAt === undefined;
  }

  /** Down for longer than the grace period: left out of merged lists. */
  isUnlisted(backend: string, target: string): boolean {
    return this.#failing.get(backend)?.get(target)?.unlisted === true;
  }

  /** Every target of the table and whether it is up (mcplane_upstream_up, at scrape time). */
  *targets(): Iterable<TargetHealth> {
    for (const backend of this.#backends)
      for (const target of backend.targets)
        yield { backend: backend.id, target: target.name, up: this.isUp(backend.id, target.name) };
  }

  /** One round: unlist targets down past the grace period, then probe. */
  tick(now = performance.now()): void {
    for (const [backend, targets] of this.#failing) {
      for (const [target, failing] of targets) {
        if (failing.unlisted || failing.downAt === undefined || now - failing.downAt < this.options.graceMs)
          continue;
        failing.unlisted = true;
        this.onEvent(backend, target, 'unlisted');
      }
    }
    const probe = this.#probe;
    if (probe === undefined) return;
    const all = this.options.probeIntervalMs > 0;
    for (const backend of this.#backends) {
      for (const target of backend.targets) {
        if (all || !this.isUp(backend.id, target.name)) probe(backend, target).catch(() => {});
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

/** Unreachable, timed out or a 5xx: the target's failure. A 4xx is the server answering. */
function countsAgainst(error: UpstreamError): boolean {
  switch (error.failure) {
    case 'unreachable':
    case 'timeout':
      return true;
    case 'status':
      return (error.status ?? 500) >= 500;
    default:
      return false;
  }
}
