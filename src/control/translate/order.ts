/**
 * The one ordering every conflict is resolved in: oldest first, then namespace, then name
 * (Gateway API's rule for "which of two conflicting objects wins").
 */
import type { ObjectMeta } from '../../shared/resources.js';

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareByAge(a: { metadata: ObjectMeta }, b: { metadata: ObjectMeta }): number {
  return (
    compareStrings(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') ||
    compareStrings(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
    compareStrings(a.metadata.name, b.metadata.name)
  );
}

/** A sorted copy: the snapshot's arrays are frozen and in no particular order. */
export function sortByAge<T extends { metadata: ObjectMeta }>(items: readonly T[]): T[] {
  return [...items].sort(compareByAge);
}
