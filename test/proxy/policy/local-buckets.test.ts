import { describe, expect, it } from 'vitest';
import { type BucketLimit, LocalBuckets } from '../../../src/proxy/policy/local-buckets.js';

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
  };
}

const perSecond = (requests: number, burst = 0): BucketLimit => ({ requests, unitMs: 1_000, burst });

describe('LocalBuckets', () => {
  it('admits exactly the budget of a fresh (full) bucket, counting remaining down', () => {
    const c = clock();
    const buckets = new LocalBuckets({ now: c.now });
    const answers = Array.from({ length: 8 }, () => buckets.take('k', perSecond(5)));
    expect(answers.map((a) => a.allowed)).toEqual([true, true, true, true, true, false, false, false]);
    expect(answers.slice(0, 5).map((a) => a.remaining)).toEqual([4, 3, 2, 1, 0]);
    expect(answers[5]).toEqual({ allowed: false, retryAfterMs: 200, remaining: 0 });
  });

  it('holds requests + burst, and refills requests per unit (never above requests + burst)', () => {
    const c = clock();
    const buckets = new LocalBuckets({ now: c.now });
    const limit = perSecond(2, 3);
    const admitted = (n: number) =>
      Array.from({ length: n }, () => buckets.take('k', limit)).filter((a) => a.allowed).length;
    expect(admitted(10)).toBe(5); // 2 + 3 at once
    c.advance(500);
    expect(admitted(10)).toBe(1); // 2 per second: 1 per 500 ms
    c.advance(1_000);
    expect(admitted(10)).toBe(2);
    c.advance(3_600_000); // an hour idle: full, not more
    expect(admitted(10)).toBe(5);
  });

  it('refills exactly over many windows with rates that are no whole number of ms per token', () => {
    const c = clock();
    const buckets = new LocalBuckets({ now: c.now });
    const limit: BucketLimit = { requests: 3, unitMs: 1_000, burst: 0 }; // 333.33… ms per token
    let admitted = 0;
    for (let window = 0; window < 1_000; window++) {
      for (let i = 0; i < 5; i++) if (buckets.take('k', limit).allowed) admitted++;
      c.advance(1_000);
    }
    expect(admitted).toBe(3 * 1_000);
    // In steps of 1 ms from empty: exactly floor(3 × elapsed / 1000) more, no rounding drift.
    const fine = new LocalBuckets({ now: c.now });
    while (fine.take('f', limit).allowed);
    let more = 0;
    for (let ms = 1; ms <= 10_000; ms++) {
      c.advance(1);
      if (fine.take('f', limit).allowed) more++;
    }
    expect(more).toBe(30);
  });

  it('says when to retry: refused 1 ms before retryAfterMs, admitted at it (cost included)', () => {
    const c = clock();
    const buckets = new LocalBuckets({ now: c.now });
    for (const [limit, cost] of [
      [perSecond(5), 1],
      [{ requests: 3, unitMs: 1_000, burst: 0 }, 1],
      [{ requests: 10, unitMs: 60_000, burst: 5 }, 4],
      [{ requests: 7, unitMs: 3_600_000, burst: 0 }, 2],
    ] as const) {
      const key = JSON.stringify(limit);
      while (buckets.take(key, limit, cost).allowed);
      const refused = buckets.take(key, limit, cost);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(Math.ceil((cost * limit.unitMs) / limit.requests));
      const start = c.now();
      c.advance(refused.retryAfterMs - 1);
      expect(buckets.take(key, limit, cost).allowed, key).toBe(false);
      c.set(start + refused.retryAfterMs);
      expect(buckets.take(key, limit, cost).allowed, key).toBe(true);
    }
    // 5 per second, empty: the next token in 200 ms, 3 tokens in 600 ms.
    const empty = new LocalBuckets({ now: c.now });
    for (let i = 0; i < 5; i++) empty.take('e', perSecond(5));
    expect(empty.take('e', perSecond(5)).retryAfterMs).toBe(200);
    expect(empty.take('e', perSecond(5), 3).retryAfterMs).toBe(600);
  });

  it('refuses what can never be admitted, with one unit to wait', () => {
    const buckets = new LocalBuckets({ now: clock().now });
    expect(buckets.take('k', perSecond(2, 1), 4)).toEqual({
      allowed: false,
      retryAfterMs: 1_000,
      remaining: 0,
    });
    expect(buckets.take('k', { requests: 0, unitMs: 60_000, burst: 5 })).toEqual({
      allowed: false,
      retryAfterMs: 60_000,
      remaining: 0,
    });
    expect(buckets.size).toBe(0);
  });

  it('keeps keys apart, and bounds them: least recently used out, a returning key starts full', () => {
    const c = clock();
    const buckets = new LocalBuckets({ now: c.now, maxKeys: 1_000 });
    const limit = perSecond(1);
    expect(buckets.take('keep', limit).allowed).toBe(true);
    let fresh = 0;
    for (let i = 0; i < 50_000; i++) {
      if (buckets.take(`hostile-${i}`, limit).allowed) fresh++;
      if (i % 500 === 0) buckets.take('keep', limit); // recently used: stays
    }
    expect(fresh).toBe(50_000);
    expect(buckets.size).toBe(1_000);
    expect(buckets.take('keep', limit).allowed).toBe(false); // still counted: never evicted
    expect(buckets.take('hostile-49999', limit).allowed).toBe(false); // recent: still there
    expect(buckets.take('hostile-0', limit).allowed).toBe(true); // evicted long ago: full again
    expect(buckets.size).toBe(1_000);
  });

  it('bounds long keys by a digest that no short key can name', () => {
    const c = clock();
    const buckets = new LocalBuckets({ now: c.now });
    const limit = perSecond(1);
    const long = 'x'.repeat(100_000);
    expect(buckets.take(`${long}a`, limit).allowed).toBe(true);
    expect(buckets.take(`${long}a`, limit).allowed).toBe(false);
    expect(buckets.take(`${long}b`, limit).allowed).toBe(true); // differs at the end: its own bucket
    expect(buckets.take('x'.repeat(256), limit).allowed).toBe(true); // longest raw key
    expect(buckets.size).toBe(3);
  });

  it('refills nothing when the clock goes back, and rescales a bucket whose unit changed', () => {
    const c = clock();
    const buckets = new LocalBuckets({ now: c.now });
    const limit = perSecond(2);
    buckets.take('k', limit);
    buckets.take('k', limit);
    c.advance(-5_000);
    expect(buckets.take('k', limit).allowed).toBe(false);
    c.advance(5_000 + 499);
    expect(buckets.take('k', limit).allowed).toBe(false); // 499 ms since the first takes
    c.advance(1);
    expect(buckets.take('k', limit).allowed).toBe(true);
    // 1 token of 2 left per second; the same bucket read per minute keeps 1 token, not 1/60.
    const d = new LocalBuckets({ now: c.now });
    d.take('u', perSecond(2));
    const perMinute = { requests: 2, unitMs: 60_000, burst: 0 };
    expect(d.take('u', perMinute)).toMatchObject({ allowed: true, remaining: 0 });
    expect(d.take('u', perMinute).allowed).toBe(false);
  });

  it('is cheap on the call path', () => {
    const buckets = new LocalBuckets();
    const limit = perSecond(1_000_000);
    const keys = Array.from({ length: 1_000 }, (_, i) => `policy|route|0|0|sub=user-${i}|tool=t${i % 7}`);
    for (const key of keys) buckets.take(key, limit);
    const n = 200_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) buckets.take(keys[i % 1_000]!, limit);
    const perTakeUs = ((performance.now() - started) * 1_000) / n;
    expect(perTakeUs).toBeLessThan(5); // typically well under 1 µs
  });
});
