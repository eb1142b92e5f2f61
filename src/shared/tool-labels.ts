/**
 * Tool names as metric label values. A name becomes a label only once a target has listed it
 * through the gateway (a `tools/list` answer), never because a client sent it; each backend keeps at
 * most `maxPerBackend` names (`--metrics-max-tools`), and every other name — unknown, past the
 * cap, too long — counts as `other`. Labels are `<target>_<tool>`, whatever the backend's naming.
 */

export const OTHER_TOOL = 'other';

/** Tool labels per backend unless --metrics-max-tools says otherwise. */
export const DEFAULT_MAX_TOOLS = 200;

/** A label value longer than this is `other` (upstream tool names are not bounded by MCP). */
const MAX_LABEL_CHARS = 128;

/** Backends tracked at once; a table with more starts over (backends are few, names stay bounded). */
const MAX_BACKENDS = 1_000;

/** How often the gateway reads a transparent backend's `tools/list` answer (its lists pass as bytes). */
export const RELEARN_MS = 300_000;

interface BackendNames {
  size: number;
  /** target → when the gateway last read one of its `tools/list` answers (performance.now()). */
  readonly read: Map<string, number>;
  /** target → upstream tool name → label. */
  readonly byTarget: Map<string, Map<string, string>>;
}

export class ToolLabels {
  readonly #backends = new Map<string, BackendNames>();

  /** Set once from --metrics-max-tools before the first request. */
  maxPerBackend = DEFAULT_MAX_TOOLS;

  /** A target of `backend` listed these tools (upstream names). */
  learn(backend: string, target: string, names: Iterable<string>): void {
    const known = this.#known(backend);
    if (known.size >= this.maxPerBackend) return;
    let byName = known.byTarget.get(target);
    for (const name of names) {
      if (byName?.has(name)) continue;
      const label = `${target}_${name}`;
      if (label.length > MAX_LABEL_CHARS) continue;
      if (byName === undefined) {
        byName = new Map();
        known.byTarget.set(target, byName);
      }
      byName.set(name, label);
      known.size += 1;
      if (known.size >= this.maxPerBackend) return;
    }
  }

  /**
   * Whether to read the `tools/list` answer `target` is about to give (at most once per RELEARN_MS
   * per target, and never once the backend is at its cap): true marks it read.
   */
  due(backend: string, target: string, now: number): boolean {
    const known = this.#known(backend);
    if (known.size >= this.maxPerBackend) return false;
    const last = known.read.get(target);
    if (last !== undefined && now - last < RELEARN_MS) return false;
    known.read.set(target, now);
    return true;
  }

  #known(backend: string): BackendNames {
    let known = this.#backends.get(backend);
    if (known === undefined) {
      if (this.#backends.size >= MAX_BACKENDS) this.#backends.clear();
      known = { size: 0, read: new Map(), byTarget: new Map() };
      this.#backends.set(backend, known);
    }
    return known;
  }

  /** The label of `name` (the upstream's tool name) on `target` of `backend`: known, or `other`. */
  label(backend: string, target: string, name: string): string {
    return this.#backends.get(backend)?.byTarget.get(target)?.get(name) ?? OTHER_TOOL;
  }

  /** Forget backends and targets the routing table no longer has (backend id → its target names). */
  retain(backends: ReadonlyMap<string, readonly string[]>): void {
    for (const [id, known] of this.#backends) {
      const targets = backends.get(id);
      if (targets === undefined) {
        this.#backends.delete(id);
        continue;
      }
      for (const [target, names] of known.byTarget) {
        if (targets.includes(target)) continue;
        known.byTarget.delete(target);
        known.read.delete(target);
        known.size -= names.size;
      }
    }
  }
}
