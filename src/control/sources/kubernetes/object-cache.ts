/**
 * A reflector's view of one kind: which keys it has seen (with uid and resourceVersion, valid or not),
 * and the writes that keep the ResourceStore equal to the server's state. Relists diff against it
 * (replace semantics, UID-aware); invalid objects are logged and kept out of the store.
 */
import type { Logger } from '../../../shared/logger.js';
import type { Metrics } from '../../../shared/metrics.js';
import { objectKey } from '../../../shared/object-key.js';
import type { KindInfo, KindName } from '../../../shared/resources.js';
import { describeRaw as describe, parseResource } from '../parse.js';
import type { ResourceStore } from '../store.js';

interface Seen {
  uid?: string;
  resourceVersion?: string;
  /** Whether the object passed validation (and so is in the store). */
  inStore: boolean;
}

interface RawMeta {
  name?: unknown;
  namespace?: unknown;
  uid?: unknown;
  resourceVersion?: unknown;
}

type Raw = Record<string, unknown> & { metadata?: RawMeta };

export interface ListDiff {
  added: number;
  updated: number;
  deleted: number;
}

export class ObjectCache {
  readonly #seen = new Map<string, Seen>();

  constructor(
    private readonly name: KindName,
    private readonly info: KindInfo<unknown>,
    private readonly store: ResourceStore,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  get size(): number {
    return this.#seen.size;
  }

  /** Replace semantics: keys missing from the list are deleted; a changed UID is delete + add. */
  applyList(items: readonly unknown[]): ListDiff {
    const diff: ListDiff = { added: 0, updated: 0, deleted: 0 };
    const listed = new Set<string>();
    for (const item of items) {
      const raw = this.#normalise(item);
      const key = keyOf(raw);
      if (!key) continue;
      listed.add(key);
      const before = this.#seen.get(key);
      const outcome = this.#upsert(key, raw);
      if (outcome === 'added') diff.added++;
      else if (outcome === 'updated' || outcome === 'replaced') diff.updated++;
      if (outcome === 'replaced' && before) diff.deleted++;
    }
    for (const key of [...this.#seen.keys()]) {
      if (listed.has(key)) continue;
      this.#delete(key); // synthetic: the final state was never seen
      diff.deleted++;
    }
    this.#count();
    return diff;
  }

  /** ADDED / MODIFIED / DELETED from a watch. */
  applyEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: unknown): void {
    const raw = this.#normalise(object);
    const key = keyOf(raw);
    if (!key) return;
    if (type === 'DELETED') this.#delete(key);
    else this.#upsert(key, raw);
    this.#count();
  }

  /** Forget everything (an optional CRD that went away). */
  clear(): void {
    for (const key of [...this.#seen.keys()]) this.#delete(key);
    this.#count();
  }

  #upsert(key: string, raw: Raw): 'added' | 'updated' | 'replaced' | 'unchanged' {
    const uid = str(raw.metadata?.uid);
    const resourceVersion = str(raw.metadata?.resourceVersion);
    const before = this.#seen.get(key);
    if (before && before.uid === uid && resourceVersion && before.resourceVersion === resourceVersion) {
      return 'unchanged';
    }
    const replaced = before !== undefined && before.uid !== uid;
    if (replaced) this.#delete(key); // recreated under the same name: the old object is gone
    const result = parseResource(raw);
    const parsed: typeof result =
      result.ok && result.resource.kind !== this.name
        ? {
            ok: false,
            kind: result.resource.kind,
            id: describe(raw),
            problems: [`kind: expected ${this.name}`],
          }
        : result;
    if (parsed.ok) {
      this.#safely(() => this.store.upsert(this.name, parsed.resource.object as never));
    } else {
      this.metrics.sourceErrors.inc({ source: 'kubernetes' });
      this.logger.warn(
        { kind: this.name, object: parsed.id, problems: parsed.problems },
        `invalid ${parsed.id} ignored: ${parsed.problems.join('; ')}`,
      );
      if (before?.inStore && !replaced) this.#safely(() => this.store.remove(this.name, key));
    }
    this.#seen.set(key, { uid, resourceVersion, inStore: parsed.ok });
    return replaced ? 'replaced' : before ? 'updated' : 'added';
  }

  #delete(key: string): void {
    const before = this.#seen.get(key);
    this.#seen.delete(key);
    if (before?.inStore) this.#safely(() => this.store.remove(this.name, key));
  }

  /** JSON round trip: typed-client model instances and Dates become wire-shaped JSON; kind filled in. */
  #normalise(item: unknown): Raw {
    const raw = JSON.parse(JSON.stringify(item ?? {})) as Raw;
    raw.kind ??= this.info.kind;
    raw.apiVersion ??= this.info.group ? `${this.info.group}/${this.info.version}` : this.info.version;
    return raw;
  }

  /** A store listener that throws must not kill the reflector (the store has already changed). */
  #safely(write: () => void): void {
    try {
      write();
    } catch (err) {
      this.logger.error({ kind: this.name, err }, 'a resource store listener threw');
    }
  }

  #count(): void {
    this.metrics.objects.set({ kind: this.name }, this.store.count(this.name));
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function keyOf(raw: Raw): string | undefined {
  const name = str(raw.metadata?.name);
  if (!name) return undefined;
  return objectKey(str(raw.metadata?.namespace), name);
}
