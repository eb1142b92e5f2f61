/**
 * The resource store: plain, validated objects by kind and key. Sources write, the reconciler reads
 * whole snapshots. Sources know nothing about routing.
 */
import { objectKey } from '../../shared/object-key.js';
import {
  emptySnapshot,
  KIND_NAMES,
  type KindName,
  type ResourceByKind,
  type Snapshot,
} from '../../shared/resources.js';

type AnyResource = ResourceByKind[KindName];

export class ResourceStore {
  readonly #maps = new Map<KindName, Map<string, AnyResource>>(KIND_NAMES.map((k) => [k, new Map()]));
  #snapshot: Snapshot | undefined = emptySnapshot();
  readonly #listeners = new Set<(kind: KindName) => void>();

  upsert<K extends KindName>(kind: K, object: ResourceByKind[K]): void {
    this.#map(kind).set(objectKey(object.metadata.namespace, object.metadata.name), object);
    this.#changed(kind);
  }

  remove(kind: KindName, key: string): boolean {
    const removed = this.#map(kind).delete(key);
    if (removed) this.#changed(kind);
    return removed;
  }

  get<K extends KindName>(kind: K, key: string): ResourceByKind[K] | undefined {
    return this.#map(kind).get(key) as ResourceByKind[K] | undefined;
  }

  /** Replace every object of one kind (a relist, or a file reload). */
  replace<K extends KindName>(kind: K, objects: readonly ResourceByKind[K][]): void {
    const map = this.#map(kind);
    map.clear();
    for (const object of objects) map.set(objectKey(object.metadata.namespace, object.metadata.name), object);
    this.#changed(kind);
  }

  count(kind: KindName): number {
    return this.#map(kind).size;
  }

  /** A frozen view of everything; cached until the next change. */
  snapshot(): Snapshot {
    if (!this.#snapshot) {
      const snap = {} as Record<KindName, readonly AnyResource[]>;
      for (const kind of KIND_NAMES) snap[kind] = Object.freeze([...this.#map(kind).values()]);
      this.#snapshot = Object.freeze(snap) as unknown as Snapshot;
    }
    return this.#snapshot;
  }

  /** Called synchronously after every change: listeners only mark work, they never do it inline. */
  onChange(listener: (kind: KindName) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #map(kind: KindName): Map<string, AnyResource> {
    return this.#maps.get(kind)!;
  }

  #changed(kind: KindName): void {
    this.#snapshot = undefined;
    for (const listener of this.#listeners) listener(kind);
  }
}
