/**
 * The revocation set: entries until their session would have expired, never more than
 * --max-revoked-sessions, and when full a floor that refuses every older session rather than
 * letting a deleted one back in. Also what an entry costs in memory.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Revocations } from '../../../../src/proxy/mcp/session/revocations.js';

const HOUR = 3_600_000;
const id = () => randomBytes(12).toString('base64url');

function clocked(maxEntries: number, lifetimeMs = HOUR) {
  const clock = { now: 1_800_000_000_000 };
  const set = new Revocations({ maxEntries, lifetimeMs, now: () => clock.now });
  return { clock, set };
}

describe('revocations', () => {
  it('an entry lasts until its session would have expired anyway', () => {
    const { clock, set } = clocked(10);
    const [a, b] = [id(), id()];
    set.revoke(a, clock.now - HOUR / 2);
    set.revoke(b, clock.now);
    set.revoke(id(), clock.now - HOUR - 1000); // already expired: nothing to remember
    expect(set.size).toBe(2);
    expect(set.refuses(a, clock.now - HOUR / 2)).toBe('revoked');
    clock.now += HOUR / 2 + 1000;
    set.sweep();
    expect(set.has(a)).toBe(false);
    expect(set.has(b)).toBe(true);
    set.close();
  });

  it('full: the floor rises past the oldest tenth, the set never grows past its bound, no deleted session comes back', () => {
    const { clock, set } = clocked(100);
    const revoked: Array<[string, number]> = [];
    for (let i = 0; i < 1000; i += 1) {
      const issuedAt = clock.now - HOUR / 2 + i * 1000; // one a second, all within the lifetime
      const entry: [string, number] = [id(), issuedAt];
      revoked.push(entry);
      set.revoke(...entry);
      expect(set.size).toBeLessThanOrEqual(100);
    }
    // Every deleted session is refused: by its entry, or (older ones) by the floor.
    for (const [key, issuedAt] of revoked) expect(set.refuses(key, issuedAt)).toBeDefined();
    expect(set.floor).toBeGreaterThan(revoked[0]![1]);
    // The trade-off: a session that was never deleted but is older than the floor is refused too...
    expect(set.refuses(id(), set.floor - 1)).toBe('floor');
    // ...and a newer one is not.
    expect(set.refuses(id(), set.floor)).toBeUndefined();
    expect(set.refuses(id(), revoked.at(-1)![1])).toBeUndefined();
    set.close();
  });

  it('merges what a peer sends; a peer floor ahead of now is held back to now', () => {
    const { clock, set } = clocked(100);
    const changes: number[] = [];
    set.onChange((change) => changes.push(change.revoked.length));
    const entry: [string, number] = [id(), Math.floor(clock.now / 1000)];
    expect(set.merge([entry, entry], 0)).toHaveLength(1);
    expect(set.merge([entry], 0)).toHaveLength(0);
    set.merge([], clock.now + HOUR);
    expect(set.floor).toBe(clock.now);
    expect(changes).toEqual([1, 0]);
    set.close();
  });

  it('answers "what is new since" from its recent additions, and everything when it cannot tell', () => {
    const { clock, set } = clocked(100);
    const old = id();
    set.revoke(old, clock.now);
    const mark = clock.now + 1;
    clock.now += 10;
    const recent = id();
    set.revoke(recent, clock.now);
    expect(set.entries(mark).map(([key]) => key)).toEqual([recent]);
    expect(set.entries().map(([key]) => key)).toEqual([old, recent]);
    // Two minutes later the recent additions are forgotten: a peer asking that far back gets all.
    clock.now += 180_000;
    expect(set.entries(mark)).toHaveLength(2);
    set.close();
  });

  it('costs about seventy bytes an entry, the id included', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const count = 100_000;
    const clock = { now: Date.now() };
    const set = new Revocations({ maxEntries: count, lifetimeMs: HOUR, now: () => clock.now });
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const before = heap();
    // Ids as a push or a DELETE delivers them: a fresh 16-character string each.
    for (let i = 0; i < count; i += 1) set.revoke(id(), clock.now);
    const fresh = (heap() - before) / count;
    clock.now += 180_000; // past the window of recent additions kept for incremental pulls
    set.sweep();
    const steady = (heap() - before) / count;
    console.info(
      `revocation entry: ${steady.toFixed(0)} bytes (${fresh.toFixed(0)} in its first two minutes)`,
    );
    expect(set.size).toBe(count);
    expect(steady).toBeLessThan(150);
    expect(fresh).toBeLessThan(250);
    set.close();
  });
});
