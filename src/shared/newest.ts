/**
 * A Map used as a bounded memory of recent answers: Map order is insertion order, so setting a key
 * anew makes it the newest, and at the bound the oldest goes first.
 */
export function setNewest<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}
