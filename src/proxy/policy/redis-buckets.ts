/**
 * Rate-limit buckets shared by every replica, counted by mcplane itself in Redis (no separate
 * rate-limit service). Same contract as LocalBuckets (src/proxy/policy/local-buckets.ts): refill
 * `requests` per unit, hold `requests + burst`, a fresh bucket starts full.
 *
 * Exact across replicas: each take is ONE Lua script (EVALSHA, EVAL when Redis does not have it
 * yet), and Redis runs scripts one at a time, so read-refill-take-write of a bucket is atomic
 * whichever replica sends it. The script reads time from Redis (`TIME`), never from the replica,
 * so replicas with skewed clocks agree. Levels are kept in token·µs (tokens × unit in µs) and the
 * clock in whole µs, so refills are integer arithmetic and never round a budget off by one.
 * Together, N replicas admit exactly `requests + burst` at once and `requests` per unit after.
 *
 * Bounded: a bucket key expires when the bucket would be full again (a missing key reads as a
 * full bucket, so expiry changes no answer); keys longer than 200 bytes (they carry client
 * identities) are replaced by their SHA-256, under a different tag than raw keys so that no raw
 * key can name a hashed key's bucket.
 *
 * Redis down or slow never hangs a call and never crashes the process: no offline queue (a command
 * fails at once while disconnected), one deadline per take (`timeoutMs`, 50 ms by default; it
 * includes waiting for the very first connection), no retry of a command, a connection that
 * stops answering dropped after a second, reconnects with backoff (50 ms doubling to 2 s) in the
 * background, and an 'error' listener. Such a take is answered by `failureMode`: FailOpen admits,
 * FailClosed refuses with retryAfterMs 1 000; both mark the answer `degraded`. The up/down state
 * is logged (warn) once per change, never per request; the first successful connection is not.
 *
 * Not exact while degraded: admissions FailOpen makes are not counted, and a script Redis ran
 * after its take's deadline passed has taken a token although the caller got the failure mode's
 * answer.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { BucketLimit } from './local-buckets.js';

/**
 * ioredis, loaded by the first RedisBuckets (a global rate limit in the table): loading it costs
 * ~180 ms of start-up that a gateway without one should not pay. (It is CommonJS: require is sync.)
 */
const loadRedis = (): typeof Redis =>
  (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Redis;

/**
 * KEYS[1]: the bucket, a hash { l: level in token·µs, t: Redis time in µs, u: unit in µs }.
 * ARGV: requests per unit, unit (µs), capacity (tokens), cost (tokens).
 * Returns { allowed 0|1, retry after (ms, rounded up), whole tokens left }.
 */
const TAKE = `
if redis.replicate_commands then redis.replicate_commands() end
local requests = tonumber(ARGV[1])
local unit = tonumber(ARGV[2])
local full = tonumber(ARGV[3]) * unit
local need = tonumber(ARGV[4]) * unit
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local level = full
local stored = redis.call('HMGET', KEYS[1], 'l', 't', 'u')
if stored[1] and stored[2] and stored[3] then
  level = tonumber(stored[1])
  local last = tonumber(stored[2])
  local was = tonumber(stored[3])
  if was ~= unit then level = level / was * unit end
  if now > last then
    level = level + (now - last) * requests
  else
    now = last
  end
  if level > full then level = full end
end
if level >= need then
  level = level - need
  redis.call('HSET', KEYS[1], 'l', level, 't', now, 'u', unit)
  redis.call('PEXPIRE', KEYS[1], math.ceil((full - level) / requests / 1000) + 1)
  return {1, 0, math.floor(level / unit)}
end
return {0, math.ceil((need - level) / requests / 1000), math.floor(level / unit)}
`;

export interface SharedTake {
  readonly allowed: boolean;
  /** 0 when allowed; when refused, ms until the bucket has `cost` tokens again (1 000 when degraded). */
  readonly retryAfterMs: number;
  /** Whole tokens left after this take (0 when degraded: unknown). */
  readonly remaining: number;
  /** Redis could not answer in time: the answer is the failure mode's. */
  readonly degraded?: 'redis-unavailable';
}

export interface RedisBucketsOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url: string;
  failureMode: 'FailOpen' | 'FailClosed';
  /** Deadline of one take while connected (default 50 ms): a slow Redis costs a call at most this. */
  timeoutMs?: number;
  /** Prefix of every Redis key (default `mcplane:rl:`). */
  keyPrefix?: string;
  logger?: { warn(obj: object, msg: string): void };
}

type TakeReply = [number, number, number];

type BucketClient = Redis & {
  mcplaneTake(
    key: string,
    requests: number,
    unitUs: number,
    capacity: number,
    cost: number,
  ): Promise<unknown>;
};

/** Keys up to this many bytes are stored as they are. */
const MAX_RAW_KEY_BYTES = 200;
/** How long FailClosed tells a caller to wait. */
const FAIL_CLOSED_RETRY_MS = 1_000;

/** host:port of a Redis URL, for logs: never the password. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return '(unparsable Redis URL)';
  }
}

function isReply(value: unknown): value is TakeReply {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    typeof value[0] === 'number' &&
    typeof value[1] === 'number' &&
    typeof value[2] === 'number'
  );
}

export class RedisBuckets {
  readonly #client: BucketClient;
  readonly #failureMode: 'FailOpen' | 'FailClosed';
  readonly #timeoutMs: number;
  readonly #rawPrefix: string;
  readonly #hashedPrefix: string;
  readonly #logger: { warn(obj: object, msg: string): void } | undefined;
  readonly #redis: string;
  /** 'connecting' until the first connection is ready or has failed; state() calls it 'down'. */
  #state: 'connecting' | 'up' | 'down' = 'connecting';
  #lastError = '';
  #closed = false;
  /** Settles when the first connection attempt is over: takes wait for it (within their deadline). */
  #firstAttempt: Promise<void> | undefined;
  #firstAttemptOver: (() => void) | undefined;

  constructor(options: RedisBucketsOptions) {
    this.#failureMode = options.failureMode;
    this.#timeoutMs = options.timeoutMs ?? 50;
    const prefix = options.keyPrefix ?? 'mcplane:rl:';
    this.#rawPrefix = `${prefix}k:`;
    this.#hashedPrefix = `${prefix}h:`;
    this.#logger = options.logger;
    this.#redis = describe(options.url);
    this.#firstAttempt = new Promise<void>((resolve) => {
      this.#firstAttemptOver = resolve;
    });
    const RedisClient = loadRedis();
    const client = new RedisClient(options.url, {
      enableOfflineQueue: false, // disconnected: fail at once, never queue
      maxRetriesPerRequest: 0, // a command in flight when the connection drops fails, it is not resent
      autoResendUnfulfilledCommands: false,
      // No commandTimeout: take() has its own deadline, and one for the handshake would drop a
      // connection that is merely slow to start. A Redis that stops answering altogether (the
      // connection stays open) is dropped after a second without data, so that commands sent to
      // it do not pile up: takes fail at once while it reconnects.
      socketTimeout: Math.max(1_000, 10 * this.#timeoutMs),
      connectTimeout: 2_000,
      // Reconnect in the background: 50 ms, doubling, at most 2 s, with jitter.
      retryStrategy: (times) =>
        Math.min(50 * 2 ** Math.min(times - 1, 6), 2_000) + Math.floor(Math.random() * 100),
      lazyConnect: false,
    });
    client.defineCommand('mcplaneTake', { numberOfKeys: 1, lua: TAKE });
    client.on('ready', () => this.#set('up'));
    client.on('error', (err: Error) => {
      this.#lastError = err.message;
    });
    client.on('close', () => this.#set('down'));
    client.on('end', () => this.#set('down'));
    this.#client = client as BucketClient;
  }

  /** 'up' once connected and answering; 'down' before, and while Redis is away or too slow. */
  state(): 'up' | 'down' {
    return this.#state === 'up' ? 'up' : 'down';
  }

  take(key: string, limit: BucketLimit, cost = 1): Promise<SharedTake> {
    const { requests, unitMs, burst } = limit;
    const capacity = requests + burst;
    if (!(requests > 0 && unitMs > 0 && burst >= 0 && cost >= 0 && cost <= capacity)) {
      // Never admissible, as in LocalBuckets: no need to ask Redis.
      return Promise.resolve({ allowed: false, retryAfterMs: unitMs > 0 ? unitMs : 1_000, remaining: 0 });
    }
    const redisKey =
      Buffer.byteLength(key) <= MAX_RAW_KEY_BYTES
        ? this.#rawPrefix + key
        : this.#hashedPrefix + createHash('sha256').update(key).digest('base64url');
    const unitUs = unitMs * 1_000;
    return new Promise<SharedTake>((resolve) => {
      let sent = false;
      let settled = false;
      // One deadline for the whole take: the wait for a first connection, the script, and its
      // resend as EVAL when Redis lost it.
      const expire = () => {
        if (settled) return;
        settled = true;
        // Sent and unanswered: Redis is too slow. Not sent (still waiting for the first
        // connection): that attempt ends in 'ready' or 'close' by itself, and says so.
        if (sent) this.#note(`no answer within ${this.#timeoutMs} ms`);
        resolve(this.#degraded());
      };
      // Timers run before I/O in an event-loop turn: when this process was busy past the deadline,
      // an answer that Redis sent in time is read first (setImmediate runs after I/O), so a busy
      // gateway is not mistaken for a slow Redis.
      const timer = setTimeout(() => setImmediate(expire), this.#timeoutMs);
      const send = () => {
        if (settled) return; // too late: never sent, it would take a token nobody is told about
        sent = true;
        this.#client.mcplaneTake(redisKey, requests, unitUs, capacity, cost).then(
          (reply) => {
            if (settled) return; // a late answer: the take was answered by the failure mode
            settled = true;
            clearTimeout(timer);
            if (!isReply(reply)) {
              this.#note('unexpected reply from the rate-limit script');
              resolve(this.#degraded());
              return;
            }
            // An answer in time on a ready connection, after a failure: Redis is back.
            if (this.#state !== 'up' && this.#client.status === 'ready') this.#set('up');
            resolve({ allowed: reply[0] === 1, retryAfterMs: reply[1], remaining: reply[2] });
          },
          (err: unknown) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            this.#note(err instanceof Error ? err.message : String(err));
            resolve(this.#degraded());
          },
        );
      };
      const first = this.#firstAttempt;
      if (first === undefined) send();
      else void first.then(send);
    });
  }

  /** Disconnects; later takes get the failure mode's answer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = this.#client;
    if (client.status === 'end') return;
    // Reconnecting or not yet started: disconnect() ends it at once, and no 'end' will come.
    const waiting = client.status === 'reconnecting' || client.status === 'wait';
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      timer.unref();
      client.once('end', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    client.disconnect(false);
    if (!waiting) await ended;
  }

  #degraded(): SharedTake {
    return this.#failureMode === 'FailOpen'
      ? { allowed: true, retryAfterMs: 0, remaining: 0, degraded: 'redis-unavailable' }
      : { allowed: false, retryAfterMs: FAIL_CLOSED_RETRY_MS, remaining: 0, degraded: 'redis-unavailable' };
  }

  /** A take failed: Redis is down (or too slow) from here until it answers again. */
  #note(error: string): void {
    this.#lastError = error;
    this.#set('down');
  }

  #set(state: 'up' | 'down'): void {
    const was = this.#state;
    if (state === was) return;
    this.#state = state;
    if (this.#firstAttemptOver) {
      this.#firstAttemptOver();
      this.#firstAttemptOver = undefined;
      this.#firstAttempt = undefined;
    }
    if (this.#closed) return;
    if (state === 'down') {
      this.#logger?.warn(
        { redis: this.#redis, failureMode: this.#failureMode, error: this.#lastError },
        `rate-limit Redis unavailable: global rate limits ${this.#failureMode === 'FailOpen' ? 'admit' : 'refuse'} calls (failureMode ${this.#failureMode}) until it is back`,
      );
    } else if (was === 'down') {
      this.#logger?.warn(
        { redis: this.#redis },
        'rate-limit Redis reachable again: global rate limits count again',
      );
    }
  }
}
