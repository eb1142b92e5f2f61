/**
 * Token buckets in process memory, for `traffic.rateLimit.local`. agentgateway's reading: `requests`
 * tokens are added per `unit`, and the bucket holds `requests + burst`, so a quiet client may send
 * a burst above the steady rate. A fresh bucket starts full. Keys are bounded (least recently used
 * out), since they may name identities a client can mint.
 */
export interface BucketLimit {
  readonly requests: number;
  readonly unitMs: number;
  readonly burst: number;
}

export interface Taken {
  readonly allowed: boolean;
  /** When refused: how long until `cost` tokens are there again. */
  readonly retryAfterMs: number;
  readonly remaining: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class LocalBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;
  readonly #maxKeys: number;

  constructor(options: { now?: () => number; maxKeys?: number } = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  get size(): number {
    return this.#buckets.size;
  }

  take(key: string, limit: BucketLimit, cost = 1): Taken {
    const now = this.#now();
    const capacity = limit.requests + limit.burst;
    const perMs = limit.requests / limit.unitMs;
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key); // re-inserted below: Map order is least recently used first
      bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * perMs);
      bucket.at = now;
    } else {
      if (this.#buckets.size >= this.#maxKeys)
        this.#buckets.delete(this.#buckets.keys().next().value as string);
      bucket = { tokens: capacity, at: now };
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { allowed: true, retryAfterMs: 0, remaining: Math.floor(bucket.tokens) };
    }
    return { allowed: false, retryAfterMs: (cost - bucket.tokens) / perMs, remaining: 0 };
  }
}
