/**
 * RedisBuckets against a real redis-server (Debian's; the test fails, never skips, without it):
 * two instances stand for two replicas sharing one Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BucketLimit } from '../../../src/proxy/policy/local-buckets.js';
import { RedisBuckets, type SharedTake } from '../../../src/proxy/policy/redis-buckets.js';
import { freePort } from '../../support/ports.js';
import { type RedisServer, startRedis } from '../../support/redis.js';

const PREFIX = 'test:rl:';

interface Replica {
  readonly buckets: RedisBuckets;
  readonly logs: string[];
}

function replica(url: string, failureMode: 'FailOpen' | 'FailClosed', timeoutMs?: number): Replica {
  const logs: string[] = [];
  const buckets = new RedisBuckets({
    url,
    failureMode,
    keyPrefix: PREFIX,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    logger: { warn: (_obj, msg) => logs.push(msg) },
  });
  return { buckets, logs };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Each answer with how long it took. */
async function timed(take: () => Promise<SharedTake>): Promise<SharedTake & { ms: number }> {
  const started = performance.now();
  const taken = await take();
  return { ...taken, ms: performance.now() - started };
}

let redis: RedisServer;
let admin: Redis;
let open: Replica; // FailOpen
let closed: Replica; // FailClosed
const problems: unknown[] = [];
const onProblem = (err: unknown) => problems.push(err);
const consoleErrors = vi.spyOn(console, 'error');

beforeAll(async () => {
  process.on('unhandledRejection', onProblem);
  process.on('uncaughtException', onProblem);
  redis = await startRedis();
  admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  admin.on('error', () => {});
  // A generous deadline: these two check counting, and a busy machine must not make them degrade.
  open = replica(redis.url, 'FailOpen', 1_000);
  closed = replica(redis.url, 'FailClosed', 1_000);
  await until(() => open.buckets.state() === 'up' && closed.buckets.state() === 'up', 5_000, 'both up');
});

afterEach(() => {
  expect(problems).toEqual([]);
  expect(consoleErrors.mock.calls.filter((c) => String(c[0]).includes('ioredis'))).toEqual([]);
});

afterAll(async () => {
  await open?.buckets.close();
  await closed?.buckets.close();
  admin?.disconnect();
  await redis?.stop();
  process.off('unhandledRejection', onProblem);
  process.off('uncaughtException', onProblem);
  consoleErrors.mockRestore();
});

describe('RedisBuckets: one budget for every replica', () => {
  it('admits exactly the budget per identity × tool across two replicas taking concurrently', async () => {
    const limit: BucketLimit = { requests: 5, unitMs: 60_000, burst: 2 }; // 7 at once
    const keys = ['alice', 'bob'].flatMap((sub) => ['echo', 'add'].map((tool) => `sub=${sub}|tool=${tool}`));
    const answers = await Promise.all(
      keys.map((key) =>
        Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? open : closed).buckets.take(key, limit)),
        ),
      ),
    );
    for (const [k, taken] of answers.entries()) {
      const allowed = taken.filter((t) => t.allowed);
      expect(allowed, keys[k]).toHaveLength(7);
      expect(taken.filter((t) => t.degraded !== undefined)).toEqual([]);
      expect(allowed.map((t) => t.remaining).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
      for (const t of taken.filter((t) => !t.allowed)) {
        expect(t.retryAfterMs).toBeGreaterThan(0);
        expect(t.retryAfterMs).toBeLessThanOrEqual(12_000); // 5 per minute: one token per 12 s
      }
    }
    expect(open.logs).toEqual([]);
    expect(closed.logs).toEqual([]);
  });

  it('refills after retryAfterMs (one token) and after the window (the whole budget, not more)', async () => {
    const limit: BucketLimit = { requests: 2, unitMs: 1_000, burst: 0 }; // one token per 500 ms
    const both = (n: number) =>
      Promise.all(Array.from({ length: n }, (_, i) => (i % 2 ? open : closed).buckets.take('refill', limit)));
    const first = await both(6);
    expect(first.filter((t) => t.allowed)).toHaveLength(2);
    const refused = first.find((t) => !t.allowed)!;
    expect(refused.retryAfterMs).toBeGreaterThan(400);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(500);
    await sleep(refused.retryAfterMs + 20);
    expect((await both(6)).filter((t) => t.allowed)).toHaveLength(1);
    await sleep(1_100);
    expect((await both(6)).filter((t) => t.allowed)).toHaveLength(2);
  });

  it('admits requests per unit under sustained load from both replicas (budget + rate × time)', async () => {
    const limit: BucketLimit = { requests: 20, unitMs: 1_000, burst: 5 };
    let admitted = 0;
    const started = performance.now();
    const hammer = async (r: Replica) => {
      while (performance.now() - started < 1_200) {
        const taken = await r.buckets.take('sustained', limit);
        expect(taken.degraded).toBeUndefined();
        if (taken.allowed) admitted++;
        await sleep(2);
      }
    };
    await Promise.all([hammer(open), hammer(closed), hammer(open), hammer(closed)]);
    const elapsed = performance.now() - started;
    // 25 at once, then 20 per second: at most 25 + 20 × elapsed, and a token short at the end at worst.
    expect(admitted).toBeLessThanOrEqual(Math.floor(25 + (20 * elapsed) / 1_000));
    expect(admitted).toBeGreaterThanOrEqual(Math.floor(25 + (20 * 1_200) / 1_000) - 1);
  });

  it('bounds Redis: every key expires, long keys are hashed and stay apart', async () => {
    await admin.connect().catch(() => {});
    const limit: BucketLimit = { requests: 10, unitMs: 60_000, burst: 0 };
    const long = 'sub='.padEnd(5_000, 'x');
    expect((await open.buckets.take(`${long}|tool=a`, limit)).allowed).toBe(true);
    expect((await closed.buckets.take(`${long}|tool=b`, limit)).allowed).toBe(true);
    expect((await open.buckets.take('ttl', limit, 3)).remaining).toBe(7);
    const names = await admin.keys(`${PREFIX}*`);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      expect(Buffer.byteLength(name), name).toBeLessThanOrEqual(PREFIX.length + 2 + 200);
      const pttl = await admin.pttl(name);
      expect(pttl, name).toBeGreaterThan(0);
      // At most the time to full of the slowest bucket here: 7 tokens at 5 per minute.
      expect(pttl, name).toBeLessThanOrEqual(84_000 + 1);
    }
    // 3 tokens taken of 10 per minute: full again in 18 s, and gone then.
    expect(await admin.pttl(`${PREFIX}k:ttl`)).toBeGreaterThan(17_000);
    expect(await admin.pttl(`${PREFIX}k:ttl`)).toBeLessThanOrEqual(18_001);
    const hashed = names.filter((n) => n.startsWith(`${PREFIX}h:`));
    expect(hashed).toHaveLength(2);
    // A short key spelled like a hashed one is a bucket of its own.
    const spelled = hashed[0]!.slice(`${PREFIX}h:`.length);
    for (let i = 0; i < 10; i++) expect((await open.buckets.take(spelled, limit)).allowed).toBe(true);
  });

  it('follows failureMode at once while Redis is down, logs once, and counts again when it is back', async () => {
    const limit: BucketLimit = { requests: 3, unitMs: 60_000, burst: 0 };
    await redis.stop();
    const whileDown = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        timed(() => (i % 2 ? closed : open).buckets.take(`down-${i % 4}`, limit)),
      ),
    );
    const fromOpen = whileDown.filter((_, i) => i % 2 === 0);
    const fromClosed = whileDown.filter((_, i) => i % 2 === 1);
    for (const t of fromOpen) expect(t).toMatchObject({ allowed: true, degraded: 'redis-unavailable' });
    for (const t of fromClosed) {
      expect(t).toMatchObject({ allowed: false, retryAfterMs: 1_000, degraded: 'redis-unavailable' });
    }
    expect(Math.max(...whileDown.map((t) => t.ms))).toBeLessThan(100);
    expect(open.buckets.state()).toBe('down');
    expect(closed.buckets.state()).toBe('down');
    // Reconnect attempts go on in the background, and nothing more is logged.
    await sleep(600);
    for (let i = 0; i < 20; i++) {
      const t = await timed(() => closed.buckets.take('down-late', limit));
      expect(t).toMatchObject({ allowed: false, degraded: 'redis-unavailable' });
      expect(t.ms).toBeLessThan(100);
    }
    expect(open.logs).toHaveLength(1);
    expect(closed.logs).toHaveLength(1);
    expect(closed.logs[0]).toMatch(/unavailable.*FailClosed/);

    await redis.start();
    await until(
      () => open.buckets.state() === 'up' && closed.buckets.state() === 'up',
      5_000,
      'both up again',
    );
    const after = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? closed : open).buckets.take('after', limit)),
    );
    expect(after.filter((t) => t.degraded !== undefined)).toEqual([]);
    expect(after.filter((t) => t.allowed)).toHaveLength(3);
    expect(open.logs).toHaveLength(2);
    expect(closed.logs).toHaveLength(2);
    expect(closed.logs[1]).toMatch(/reachable again/);
  });

  it('answers within the default 50 ms deadline while Redis hangs, and recovers when it answers again', async () => {
    // Instances with the default deadline (the others have a generous one, for busy CI machines).
    const hangOpen = replica(redis.url, 'FailOpen');
    const hangClosed = replica(redis.url, 'FailClosed');
    try {
      await until(
        () => hangOpen.buckets.state() === 'up' && hangClosed.buckets.state() === 'up',
        5_000,
        'up',
      );
      const limit: BucketLimit = { requests: 3, unitMs: 60_000, burst: 0 };
      redis.pause();
      const hung: (SharedTake & { ms: number })[] = [];
      try {
        // Longer than a second: the silent connection is dropped and retried meanwhile.
        const started = performance.now();
        while (performance.now() - started < 1_500) {
          hung.push(
            ...(await Promise.all([
              timed(() => hangOpen.buckets.take('hung', limit)),
              timed(() => hangClosed.buckets.take('hung', limit)),
            ])),
          );
          await sleep(20);
        }
      } finally {
        redis.resume();
      }
      for (const [i, t] of hung.entries()) {
        expect(t).toMatchObject({ allowed: i % 2 === 0, degraded: 'redis-unavailable' });
        expect(t.ms).toBeLessThan(100);
      }
      expect(Math.max(...hung.map((t) => t.ms))).toBeGreaterThanOrEqual(45); // it did wait for an answer
      let taken: SharedTake | undefined;
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline && (taken === undefined || taken.degraded !== undefined)) {
        taken = await hangClosed.buckets.take('after-hang', limit);
        if (taken.degraded !== undefined) await sleep(20);
      }
      expect(taken).toEqual({ allowed: true, retryAfterMs: 0, remaining: 2 });
      expect(hangClosed.buckets.state()).toBe('up');
      expect(hangClosed.logs).toHaveLength(2); // down once, up once
      expect(hangClosed.logs[1]).toMatch(/reachable again/);
    } finally {
      await hangOpen.buckets.close();
      await hangClosed.buckets.close();
    }
  });

  it('does not take a busy event loop for a slow Redis', async () => {
    const r = replica(redis.url, 'FailClosed'); // the default 50 ms deadline
    try {
      await until(() => r.buckets.state() === 'up', 5_000, 'up');
      const limit: BucketLimit = { requests: 5, unitMs: 60_000, burst: 0 };
      // From the check phase (setImmediate), as request handlers often run: the next loop turn
      // runs due timers before it reads sockets.
      await new Promise((resolve) => setImmediate(resolve));
      const pending = Array.from({ length: 5 }, () => r.buckets.take('busy', limit));
      const blockedUntil = performance.now() + 150; // this process busy for 3 deadlines
      while (performance.now() < blockedUntil);
      const answers = await Promise.all(pending);
      expect(answers.filter((t) => t.degraded !== undefined)).toEqual([]);
      expect(answers.filter((t) => t.allowed)).toHaveLength(5);
      expect(r.logs).toEqual([]);
    } finally {
      await r.buckets.close();
    }
  });

  it('answers the first take after construction from Redis, not from the failure mode', async () => {
    const fresh = replica(redis.url, 'FailClosed', 1_000);
    try {
      const taken = await fresh.buckets.take('first', { requests: 1, unitMs: 60_000, burst: 0 });
      expect(taken).toEqual({ allowed: true, retryAfterMs: 0, remaining: 0 });
      expect(fresh.buckets.state()).toBe('up');
      expect(fresh.logs).toEqual([]);
    } finally {
      await fresh.buckets.close();
    }
  });

  it('never waits on a Redis that is not there: degraded within the deadline, one log, prompt close', async () => {
    const nowhere = replica(`redis://127.0.0.1:${await freePort()}`, 'FailClosed');
    const answers = [];
    for (let i = 0; i < 20; i++) {
      answers.push(await timed(() => nowhere.buckets.take('k', { requests: 1, unitMs: 1_000, burst: 0 })));
      await sleep(25);
    }
    for (const t of answers) {
      expect(t).toMatchObject({ allowed: false, retryAfterMs: 1_000, degraded: 'redis-unavailable' });
      expect(t.ms).toBeLessThan(100);
    }
    expect(nowhere.buckets.state()).toBe('down');
    expect(nowhere.logs).toHaveLength(1);
    const started = performance.now();
    await nowhere.buckets.close();
    expect(performance.now() - started).toBeLessThan(100);
    expect(nowhere.logs).toHaveLength(1);
  });

  it('closes quietly; a closed instance answers by its failure mode', async () => {
    const r = replica(redis.url, 'FailOpen');
    await until(() => r.buckets.state() === 'up', 5_000, 'up');
    await r.buckets.close();
    expect(r.buckets.state()).toBe('down');
    expect(await r.buckets.take('k', { requests: 1, unitMs: 1_000, burst: 0 })).toMatchObject({
      allowed: true,
      degraded: 'redis-unavailable',
    });
    expect(r.logs).toEqual([]);
  });
});
