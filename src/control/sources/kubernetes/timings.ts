/**
 * Every delay a reflector uses, in one injectable record so tests run in milliseconds, and the
 * full-jitter exponential backoff they feed.
 */
export interface ReflectorTimings {
  /** First backoff step; doubled per consecutive failure (full jitter: a random delay in [0, step]). */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** 403s back off to this longer cap: RBAC rarely fixes itself within seconds. */
  forbiddenCapMs: number;
  /** A watch must send response headers within this, or the attempt fails (client-node 1.x waits forever). */
  connectTimeoutMs: number;
  /** The whole paginated list must finish within this. */
  listTimeoutMs: number;
  /** No byte (event, bookmark) for this long: the stream is presumed dead and re-opened. */
  inactivityMs: number;
  /** Server-side `timeoutSeconds` is drawn from [min, max], so streams rotate well before LB idle limits. */
  watchTimeoutMinSeconds: number;
  watchTimeoutMaxSeconds: number;
  /** A clean close before this, with no events, counts as a failure (guards the hot re-watch loop). */
  minWatchLifetimeMs: number;
  /** A watch that stayed up this long resets the backoff. */
  backoffResetMs: number;
  /** How often an absent optional CRD is looked for again. */
  absentPollMs: number;
  /** A belt-and-braces relist this often (jittered ±25%); a missed event cannot outlive it. */
  resyncMs: number;
  /** Items per list page (limit); small in tests to exercise continue tokens. */
  pageSize: number;
  /** Source of randomness in [0, 1) (tests may pin it). */
  random: () => number;
}

export const DEFAULT_TIMINGS: ReflectorTimings = {
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
  forbiddenCapMs: 300_000,
  connectTimeoutMs: 10_000,
  listTimeoutMs: 60_000,
  inactivityMs: 150_000,
  watchTimeoutMinSeconds: 240,
  watchTimeoutMaxSeconds: 480,
  minWatchLifetimeMs: 1_000,
  backoffResetMs: 60_000,
  absentPollMs: 60_000,
  resyncMs: 45 * 60_000,
  pageSize: 500,
  random: Math.random,
};

/** Full-jitter backoff delay for the `failures`-th consecutive failure (1-based). */
export function backoffDelay(t: ReflectorTimings, failures: number, capMs = t.backoffCapMs): number {
  const step = Math.min(capMs, t.backoffBaseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.floor(t.random() * step);
}

export function watchTimeoutSeconds(t: ReflectorTimings): number {
  const span = Math.max(0, t.watchTimeoutMaxSeconds - t.watchTimeoutMinSeconds);
  return t.watchTimeoutMinSeconds + Math.floor(t.random() * (span + 1));
}

export function jittered(t: ReflectorTimings, ms: number): number {
  return Math.floor(ms * (0.75 + t.random() * 0.5));
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller then checks its generation). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
