/**
 * `traffic.rateLimit`, compiled: entries in order, the first whose condition holds (or that has
 * none) applies, and every local limit of it must admit the request. A local bucket is shared by
 * every caller of one HTTPRoute under one policy entry, as agentgateway's local limits are.
 */
import { type CelProgram, cachedCel, celTrue } from '../../shared/cel.js';
import type { LocalRateLimit, RateLimit } from '../../shared/table.js';
import type { RateLimited } from '../mcp/hop/context.js';
import type { LocalBuckets } from './local-buckets.js';

interface CompiledEntry {
  /** undefined: no condition (always applies); null: a condition that did not compile (never applies). */
  readonly condition: CelProgram | undefined | null;
  readonly local: readonly LocalRateLimit[];
}

export interface CompiledRateLimit {
  readonly policy: string;
  readonly entries: readonly CompiledEntry[];
}

export function compileRateLimit(limit: RateLimit): CompiledRateLimit {
  return {
    policy: limit.policy,
    entries: limit.entries.map((entry) => {
      if (entry.condition === undefined) return { condition: undefined, local: entry.local };
      const compiled = cachedCel(entry.condition);
      return { condition: compiled.ok ? compiled.program : null, local: entry.local };
    }),
  };
}

export function takeLimits(
  limit: CompiledRateLimit,
  buckets: LocalBuckets,
  routeName: string,
  vars: Readonly<Record<string, unknown>>,
): RateLimited | undefined {
  for (const [index, entry] of limit.entries.entries()) {
    if (entry.condition === null) continue;
    if (entry.condition !== undefined && !celTrue(entry.condition, vars).value) continue;
    let refused: RateLimited | undefined;
    entry.local.forEach((local, i) => {
      const taken = buckets.take(`${limit.policy}|${routeName}|${index}|${i}`, local);
      if (!taken.allowed && (!refused || taken.retryAfterMs > refused.retryAfterMs)) {
        refused = { retryAfterMs: taken.retryAfterMs, policy: limit.policy };
      }
    });
    return refused;
  }
  return undefined;
}
