/**
 * Rate-limit buckets shared by every replica, counted in Redis. One Lua script per take runs GCRA
 * (the generic cell rate algorithm: one stored number per key, the "theoretical arrival time")
 * on the Redis server's own clock, so replicas with skewed clocks agree and N replicas together
 * admit exactly `requests + burst` at once and `requests` per unit after. Keys expire when their
 * bucket would be full again, so Redis holds only buckets in use.
 *
 * Redis down or slow never hangs a call and never crashes the process: commands fail at once while
 * disconnected (no offline queue), each has a deadline, reconnects happen in the background, and the
 * answer follows the limit's failureMode (FailOpen admits, FailClosed refuses for a second). State
 * changes are logged once each, never per request.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.js';
import type { BucketLimit } from './local-buckets.js';

const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + cost * interval
local allow_at = next_tat - tolerance
if allow_at > now then return {0, math.ceil(allow_at - now)} end
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.ceil(next_tat - now) + 1000)
return {1, 0}
`;

export interface SharedTake {
  readonly allowed: boolean;
  readonly retryAfterMs: number;
  /** Redis could not answer: the result is the failure mode's. */
  readonly degraded?: 'redis-unavailable';
}

export interface RedisBucketsOptions {
  readonly host: string;
  readonly port: number;
  readonly failureMode: 'FailOpen' | 'FailClosed';
  /** Per command (default 100 ms): a slow Redis costs a call at most this. */
  readonly timeoutMs?: number;
  readonly keyPrefix?: string;
  readonly logger?: Logger;
}

type GcraClient = Redis & {
  mcplaneGcra(key: string, interval: number, tolerance: number, cost: number): Promise<[number, number]>;
};

/** Key parts come from identities and tool names: long ones are hashed so keys stay small. */
function keyOf(prefix: string, key: string): string {
  const bounded = key.length <= 200 ? key : createHash('sha256').update(key).digest('base64url');
  return `${prefix}${bounded}`;
}

export class RedisBuckets {
  readonly #client: GcraClient;
  readonly #options: RedisBucketsOptions;
  #state: 'up' | 'down' = 'down';
  #everUp = false;

  constructor(options: RedisBucketsOptions) {
    this.#options = options;
    const client = new Redis({
      host: options.host,
      port: options.port,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs ?? 100,
      connectTimeout: 2_000,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
      lazyConnect: false,
    });
    client.defineCommand('mcplaneGcra', { numberOfKeys: 1, lua: GCRA });
    client.on('ready', () => this.#set('up'));
    client.on('error', () => this.#set('down'));
    client.on('end', () => this.#set('down'));
    client.on('close', () => this.#set('down'));
    this.#client = client as GcraClient;
  }

  state(): 'up' | 'down' {
    return this.#state;
  }

  #set(state: 'up' | 'down'): void {
    if (state === this.#state) return;
    this.#state = state;
    const { logger, host, port, failureMode } = this.#options;
    if (state === 'up') {
      this.#everUp = true;
      logger?.info({ redis: `${host}:${port}` }, 'rate-limit Redis connected');
    } else if (this.#everUp) {
      logger?.warn(
        { redis: `${host}:${port}`, failureMode },
        'rate-limit Redis unavailable: global limits follow their failureMode',
      );
    }
  }

  async take(key: string, limit: BucketLimit, cost = 1): Promise<SharedTake> {
    const capacity = limit.requests + limit.burst;
    if (capacity <= 0 || limit.requests <= 0) return { allowed: false, retryAfterMs: limit.unitMs };
    const interval = limit.unitMs / limit.requests;
    try {
      const [allowed, retryAfterMs] = await this.#client.mcplaneGcra(
        keyOf(this.#options.keyPrefix ?? 'mcplane:rl:', key),
        interval,
        capacity * interval,
        cost,
      );
      return { allowed: allowed === 1, retryAfterMs: Number(retryAfterMs) };
    } catch {
      this.#set('down');
      return this.#options.failureMode === 'FailOpen'
        ? { allowed: true, retryAfterMs: 0, degraded: 'redis-unavailable' }
        : { allowed: false, retryAfterMs: 1_000, degraded: 'redis-unavailable' };
    }
  }

  close(): void {
    this.#client.disconnect(false);
  }
}
