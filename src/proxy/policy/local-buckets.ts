/**
 * Token buckets in process memory, for `traffic.rateLimit.local`.
 *
 * How agentgateway's `{ requests, unit, burst }` is read here: the bucket refills at `requests`
 * tokens per `unit` and holds at most `requests + burst` tokens. A fresh bucket starts full, so a
 * quiet caller may send `requests + burst` at once, and `requests` per unit after that; `burst: 0`
 * is a plain "`requests` per `unit`". (agentgateway builds its bucket as `max_tokens = requests +
 * burst`, `tokens_per_fill = requests`, `fill_interval = unit`; this refills continuously rather
 * than in one lump per unit, which admits the same amount per unit without a cliff at its edge.)
 *
 * Exact arithmetic: a bucket's level is kept in token·milliseconds (tokens × unitMs), so a refill
 * adds `elapsedMs × requests` and a take removes `cost × unitMs`: with an integer clock no fraction
 * (`requests / unitMs`) ever rounds, and a budget is never off by one after many refills.
 *
 * Keys are bounded (`maxKeys`, least recently used out): they may carry identities and tool names,
 * which a hostile client can mint at will. Keys longer than 256 characters are kept as a digest.
 * On the per-call path: synchronous, O(1), no allocation beyond the answer (and the bucket of a
 * new key).
 */
import { createHash } from 'node:crypto';

export interface BucketLimit {
  /** Tokens added per unit. */
  readonly requests: number;
  /** The unit, in milliseconds (Seconds 1 000, Minutes 60 000, Hours 3 600 000). */
  readonly unitMs: number;
  /** Tokens the bucket holds above `requests`. */
  readonly burst: number;
}

export interface Taken {
  readonly allowed: boolean;
  /**
   * 0 when allowed. When refused: milliseconds until `cost` tokens are there (rounded up, so a
   * retry after exactly this long is admitted, absent other callers). A take that can never be
   * admitted (cost above `requests + burst`, or `requests` not positive) gets one unit.
   */
  readonly retryAfterMs: number;
  /** Whole tokens left in the bucket after this take. */
  readonly remaining: number;
}

interface Bucket {
  /** Token·ms: tokens × `unit`. */
  level: number;
  /** When `level` was computed (clock ms). */
  at: number;
  /** The unitMs `level` is scaled by (a limit changed by a reload rescales it). */
  unit: number;
}

/** Raw keys used as they are are at most this long; longer ones become a digest. */
const MAX_RAW_KEY = 256;
/** Makes digested keys longer than any raw key, so no raw key can name a digested key's bucket. */
const DIGEST_PAD = '#'.repeat(MAX_RAW_KEY - 42);

function boundedKey(key: string): string {
  return key.length <= MAX_RAW_KEY ? key : DIGEST_PAD + createHash('sha256').update(key).digest('base64url');
}

export class LocalBuckets {
  /** Insertion order is recency: the first key is the least recently used. */
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;
  readonly #maxKeys: number;

  constructor(options: { now?: () => number; maxKeys?: number } = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#maxKeys = Math.max(1, Math.floor(options.maxKeys ?? 100_000));
  }

  /** How many keys have a bucket. */
  get size(): number {
    return this.#buckets.size;
  }

  take(key: string, limit: BucketLimit, cost = 1): Taken {
    const { requests, unitMs } = limit;
    const full = (requests + limit.burst) * unitMs;
    const need = cost * unitMs;
    if (!(requests > 0 && unitMs > 0 && need <= full)) {
      return { allowed: false, retryAfterMs: unitMs > 0 ? unitMs : 1_000, remaining: 0 };
    }
    const now = this.#now();
    const id = boundedKey(key);
    let bucket = this.#buckets.get(id);
    if (bucket !== undefined) {
      // Recency decides only what goes when the map is full: re-inserting (delete + set) on every
      // take costs more than the rest of it, so a bucket moves to the end only past half the bound.
      if (this.#buckets.size > this.#maxKeys >> 1) {
        this.#buckets.delete(id);
        this.#buckets.set(id, bucket);
      }
      if (bucket.unit !== unitMs) {
        bucket.level = (bucket.level / bucket.unit) * unitMs;
        bucket.unit = unitMs;
      }
      const elapsed = now - bucket.at;
      if (elapsed > 0) {
        // A clock that went back refills nothing, and the later time stays.
        bucket.level = Math.min(full, bucket.level + elapsed * requests);
        bucket.at = now;
      } else if (bucket.level > full) {
        bucket.level = full; // the limit shrank
      }
    } else {
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#buckets.delete(oldest.value);
      }
      bucket = { level: full, at: now, unit: unitMs };
      this.#buckets.set(id, bucket);
    }
    if (bucket.level >= need) {
      bucket.level -= need;
      return { allowed: true, retryAfterMs: 0, remaining: Math.floor(bucket.level / unitMs) };
    }
    return {
      allowed: false,
      retryAfterMs: Math.ceil((need - bucket.level) / requests),
      remaining: Math.floor(bucket.level / unitMs),
    };
  }
}
