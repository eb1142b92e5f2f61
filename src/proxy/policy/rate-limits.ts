/**
 * `traffic.rateLimit`, compiled: entries in order, the first whose condition holds (or that has
 * none) applies, and every limit of it must admit the request.
 *
 * - `local`: a token bucket in this process, shared by every caller of one HTTPRoute under one
 *   policy entry, as agentgateway's local limits are.
 * - `global`: one bucket per distinct value of a descriptor's entries (`jwt.sub`, `mcp.tool.name`:
 *   per identity × per tool), counted in Redis so every replica shares one budget. agentgateway
 *   sends descriptors to an external rate-limit service; mcplane counts them itself, with the
 *   budget from the descriptor's `limitOverride`. A descriptor whose entry fails to evaluate (a
 *   claim the caller lacks) does not apply, as in agentgateway.
 */
import { type CelProgram, cachedCel, celTrue } from '../../shared/cel.js';
import type { Endpoint, LocalRateLimit, RateLimit } from '../../shared/table.js';
import type { RateLimited } from '../mcp/hop/context.js';
import type { BucketLimit, LocalBuckets } from './local-buckets.js';

/** Where global buckets are counted (src/proxy/policy/redis-buckets.ts implements it). */
export interface SharedBuckets {
  take(
    key: string,
    limit: BucketLimit,
  ): Promise<{ allowed: boolean; retryAfterMs: number; degraded?: string }>;
}

interface CompiledDescriptor {
  readonly entries: readonly { readonly name: string; readonly program: CelProgram }[];
  readonly limit: CelProgram;
}

interface CompiledGlobal {
  readonly domain: string;
  readonly redis: Endpoint;
  readonly failureMode: 'FailOpen' | 'FailClosed';
  readonly descriptors: readonly CompiledDescriptor[];
}

interface CompiledEntry {
  /** undefined: no condition (always applies); null: a condition that did not compile (never applies). */
  readonly condition: CelProgram | undefined | null;
  readonly local: readonly LocalRateLimit[];
  readonly global: readonly CompiledGlobal[];
}

export interface CompiledRateLimit {
  readonly policy: string;
  readonly entries: readonly CompiledEntry[];
  readonly global: boolean;
}

function program(source: string): CelProgram | null {
  const compiled = cachedCel(source);
  return compiled.ok ? compiled.program : null;
}

export function compileRateLimit(limit: RateLimit): CompiledRateLimit {
  const entries = limit.entries.map((entry): CompiledEntry => {
    const global = entry.global.map((g) => ({
      domain: g.domain,
      redis: g.redis,
      failureMode: g.failureMode,
      descriptors: g.descriptors.flatMap((d) => {
        const limitProgram = program(d.limitOverride);
        const entries = d.entries.map((e) => ({ name: e.name, program: program(e.expression) }));
        if (!limitProgram || entries.some((e) => e.program === null)) return [];
        return [{ entries: entries as CompiledDescriptor['entries'], limit: limitProgram }];
      }),
    }));
    const condition = entry.condition === undefined ? undefined : program(entry.condition);
    return { condition, local: entry.local, global };
  });
  return { policy: limit.policy, entries, global: entries.some((e) => e.global.length > 0) };
}

const UNIT_MS: Readonly<Record<string, number>> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** `limitOverride`'s answer as a bucket, or undefined when it is not `{unit, requestsPerUnit}`. */
function budget(value: unknown): BucketLimit | undefined {
  if (!(value instanceof Map) && (typeof value !== 'object' || value === null)) return undefined;
  const get = (k: string): unknown =>
    value instanceof Map ? value.get(k) : (value as Record<string, unknown>)[k];
  const unit = get('unit');
  const raw = get('requestsPerUnit');
  const requests = typeof raw === 'bigint' ? Number(raw) : raw;
  const unitMs = typeof unit === 'string' ? UNIT_MS[unit.toLowerCase().replace(/s$/, '')] : undefined;
  if (unitMs === undefined || typeof requests !== 'number' || !Number.isInteger(requests) || requests < 0)
    return undefined;
  return { requests, unitMs, burst: 0 };
}

/** A descriptor value as a key part: strings and numbers as they are, anything else as JSON, bounded. */
function keyPart(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'bigint') text = value.toString();
  else {
    // CEL ints are bigints, which JSON.stringify refuses: written as their digits.
    try {
      text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? '';
    } catch {
      text = String(value);
    }
  }
  return text.length > 256 ? text.slice(0, 256) : text;
}

export interface Buckets {
  readonly local: LocalBuckets;
  shared(redis: Endpoint, failureMode: 'FailOpen' | 'FailClosed'): SharedBuckets;
}

export function takeLimits(
  limit: CompiledRateLimit,
  buckets: Buckets,
  routeName: string,
  vars: Readonly<Record<string, unknown>>,
): RateLimited | undefined | Promise<RateLimited | undefined> {
  for (const [index, entry] of limit.entries.entries()) {
    if (entry.condition === null) continue;
    if (entry.condition !== undefined && !celTrue(entry.condition, vars).value) continue;
    let refused: RateLimited | undefined;
    const refuse = (retryAfterMs: number, scope: 'local' | 'global') => {
      if (!refused || retryAfterMs > refused.retryAfterMs)
        refused = { retryAfterMs, policy: limit.policy, scope };
    };
    entry.local.forEach((local, i) => {
      const taken = buckets.local.take(`${limit.policy}|${routeName}|${index}|${i}`, local);
      if (!taken.allowed) refuse(taken.retryAfterMs, 'local');
    });
    if (refused || entry.global.length === 0) return refused;
    const pending: Promise<void>[] = [];
    for (const [g, global] of entry.global.entries()) {
      const shared = buckets.shared(global.redis, global.failureMode);
      for (const [d, descriptor] of global.descriptors.entries()) {
        const parts: string[] = [];
        for (const e of descriptor.entries) {
          const result = e.program.evaluate(vars);
          if (!result.ok) break;
          parts.push(`${e.name}=${keyPart(result.value)}`);
        }
        if (parts.length !== descriptor.entries.length) continue;
        const result = descriptor.limit.evaluate(vars);
        const bucket = result.ok ? budget(result.value) : undefined;
        if (!bucket) continue;
        const key = `${global.domain}|${limit.policy}|${index}|${g}|${d}|${parts.join('|')}`;
        pending.push(
          shared.take(key, bucket).then((taken) => {
            if (!taken.allowed) refuse(taken.retryAfterMs, 'global');
          }),
        );
      }
    }
    return Promise.all(pending).then(() => refused);
  }
  return undefined;
}
