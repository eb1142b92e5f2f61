/**
 * translate() is a pure function of the store's contents: any order of every input array gives
 * byte-identical output, and the input is never mutated.
 */
import { describe, expect, it } from 'vitest';
import { translate } from '../../src/control/translate/index.js';
import { KIND_NAMES, type Snapshot } from '../../src/shared/resources.js';
import { deepFreeze } from '../../src/shared/table.js';
import { listCases, loadCase, renderResult } from '../golden/fixtures.js';

/** Small seeded PRNG (mulberry32) so a failure is reproducible from the printed seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

function shuffleSnapshot(snapshot: Snapshot, next: () => number): Snapshot {
  const result: Record<string, unknown[]> = {};
  for (const kind of KIND_NAMES) result[kind] = shuffled<unknown>(snapshot[kind], next);
  return result as unknown as Snapshot;
}

const { cases } = listCases();

describe('translate determinism', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: shuffled inputs give identical output', (_name, c) => {
    const { snapshot, options } = loadCase(c);
    deepFreeze(snapshot); // any mutation of the input throws in strict mode
    const expected = renderResult(translate(snapshot, options));
    for (let seed = 1; seed <= 8; seed++) {
      const actual = renderResult(translate(shuffleSnapshot(snapshot, random(seed)), options));
      expect(actual, `seed ${seed}`).toBe(expected);
    }
  });
});
