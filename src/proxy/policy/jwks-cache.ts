/**
 * The signing keys of one JWT issuer: an inline JWKS, or a remote one fetched off the hot path.
 *
 * A remote key set is fetched when the cache is made and then every `cacheDurationMs` by an
 * unref'd timer. A token whose `kid` is unknown may ask for one more fetch, at most once per
 * `minRefreshIntervalMs` (every fetch counts); callers wait for a fetch only when they cannot
 * decide without it, and never longer than `jwksTimeoutMs`. A failed fetch keeps the last good
 * key set. Nothing here throws or leaves a rejected promise behind.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWK } from 'jose';

/** Largest JWKS accepted, inline or fetched. */
export const MAX_JWKS_BYTES = 1024 * 1024;
/** Keys used from one JWKS; the rest are ignored. */
export const MAX_JWKS_KEYS = 100;
/** Key types of the asymmetric algorithms accepted (RSA: RS*, PS*; EC: ES*; OKP: EdDSA). */
const KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);
/** Members only a private or secret key has: a JWKS member carrying one is not used. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const MAX_TIMER_MS = 2 ** 31 - 1;

export type FetchJwks = (url: string, signal: AbortSignal) => Promise<unknown>;
export type KeyLookup = ReturnType<typeof createLocalJWKSet>;

export interface JwksCacheOptions {
  readonly now: () => number;
  readonly fetchJwks: FetchJwks;
  readonly jwksTimeoutMs: number;
  readonly minRefreshIntervalMs: number;
  readonly onFetch?: (url: string, outcome: 'ok' | 'error') => void;
  /** A fetch brought a different key set: these are the key ids it has. */
  readonly onChange?: (kids: ReadonlySet<string>) => void;
}

/** What a caller may do after `ready()`: check with the keys it has, or give up (keys unavailable). */
export type Readiness = 'ready' | 'unavailable';

/** GET a JWKS with the global fetch: http(s) only, 2xx only, at most MAX_JWKS_BYTES read. */
export async function fetchJwksJson(url: string, signal: AbortSignal): Promise<unknown> {
  if (!/^https?:\/\//i.test(url)) throw new Error('JWKS URL must be http or https');
  const response = await fetch(url, {
    signal,
    headers: { accept: 'application/jwk-set+json, application/json' },
  });
  const body = response.body;
  if (!response.ok || !body) {
    await body?.cancel().catch(() => undefined);
    throw new Error(`JWKS fetch answered ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_JWKS_BYTES) {
    await body.cancel().catch(() => undefined);
    throw new Error('JWKS too large');
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_JWKS_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new Error('JWKS too large');
    }
    chunks.push(value);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The usable members of a JWKS (public asymmetric keys, at most MAX_JWKS_KEYS), or undefined. */
export function usableKeySet(value: unknown): JSONWebKeySet | undefined {
  if (!isObject(value) || !Array.isArray(value.keys)) return undefined;
  const keys: JWK[] = [];
  for (const key of value.keys) {
    if (keys.length >= MAX_JWKS_KEYS) break;
    if (!isObject(key) || typeof key.kty !== 'string' || !KEY_TYPES.has(key.kty)) continue;
    if (PRIVATE_MEMBERS.some((member) => member in key)) continue;
    keys.push(key as JWK);
  }
  return keys.length > 0 ? { keys } : undefined;
}

export class JwksCache {
  #lookup: KeyLookup | undefined;
  #kids: ReadonlySet<string> = new Set();
  #signature = '';
  #generation = 0;
  #loading: Promise<void> | undefined;
  #abort: AbortController | undefined;
  #lastFetchAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(
    readonly url: string | undefined,
    readonly cacheDurationMs: number,
    readonly options: JwksCacheOptions,
  ) {}

  /** A fixed key set (no fetch ever). An inline JWKS that is not usable verifies nothing. */
  static inline(json: string, options: JwksCacheOptions): JwksCache {
    const cache = new JwksCache(undefined, 0, options);
    if (json.length <= MAX_JWKS_BYTES) {
      try {
        cache.#use(usableKeySet(JSON.parse(json)));
      } catch {
        // Not JSON: tokens of this issuer get jwks-unavailable.
      }
    }
    return cache;
  }

  /** A remote key set: the first fetch starts now. */
  static remote(url: string, cacheDurationMs: number, options: JwksCacheOptions): JwksCache {
    const cache = new JwksCache(url, Math.min(Math.max(cacheDurationMs, 1_000), MAX_TIMER_MS), options);
    void cache.#refresh();
    return cache;
  }

  /** The key selector for jose, once a key set was loaded. */
  get lookup(): KeyLookup | undefined {
    return this.#lookup;
  }

  /** Changes whenever the key set does. */
  get generation(): number {
    return this.#generation;
  }

  /** The `kid`s of the current key set. */
  get kids(): ReadonlySet<string> {
    return this.#kids;
  }

  #use(set: JSONWebKeySet | undefined): boolean {
    if (!set) return false;
    let lookup: KeyLookup;
    try {
      lookup = createLocalJWKSet(set);
    } catch {
      return false;
    }
    const signature = JSON.stringify(set.keys);
    const changed = signature !== this.#signature;
    this.#lookup = lookup;
    this.#signature = signature;
    this.#kids = new Set(set.keys.flatMap((k) => (typeof k.kid === 'string' ? [k.kid] : [])));
    if (changed) this.#generation++;
    if (changed && this.options.onChange) {
      try {
        this.options.onChange(this.#kids);
      } catch {
        // A listener's failure is not the key set's.
      }
    }
    return true;
  }

  #report(outcome: 'ok' | 'error'): void {
    if (!this.url || !this.options.onFetch) return;
    try {
      this.options.onFetch(this.url, outcome);
    } catch {
      // Metrics must not break key refresh.
    }
  }

  /** One fetch at a time; it settles (never rejects) and schedules the next background fetch. */
  #refresh(): Promise<void> {
    const url = this.url;
    if (!url || this.#closed) return Promise.resolve();
    if (this.#loading) return this.#loading;
    this.#lastFetchAt = this.options.now();
    const abort = new AbortController();
    this.#abort = abort;
    const timeout = setTimeout(() => abort.abort(), this.options.jwksTimeoutMs);
    timeout.unref();
    // The race settles at the timeout even if an injected fetcher ignores the signal; it also
    // handles a late rejection of that fetcher.
    const aborted = new Promise<never>((_, reject) => {
      abort.signal.addEventListener('abort', () => reject(new Error('JWKS fetch aborted')), { once: true });
    });
    let fetched: Promise<unknown>;
    try {
      fetched = Promise.race([this.options.fetchJwks(url, abort.signal), aborted]);
    } catch (error) {
      fetched = Promise.reject(error);
    }
    this.#loading = fetched
      .then(
        (value) => {
          if (this.#closed) return;
          this.#report(this.#use(usableKeySet(value)) ? 'ok' : 'error');
        },
        () => {
          if (!this.#closed) this.#report('error');
        },
      )
      .finally(() => {
        clearTimeout(timeout);
        this.#loading = undefined;
        this.#abort = undefined;
        this.#schedule();
      });
    return this.#loading;
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#refresh(), this.cacheDurationMs);
    this.#timer.unref();
  }

  /**
   * Make sure the keys can decide about `kid`: resolves at once when they can (or cannot be helped),
   * waits for a first load or for a refresh that an unknown `kid` asks for (rate-limited), never
   * longer than `jwksTimeoutMs`. 'unavailable': no key set yet, or the wait timed out.
   */
  ready(kid: string | undefined): Readiness | Promise<Readiness> {
    if (!this.url) return this.#lookup ? 'ready' : 'unavailable';
    if (this.#lookup && (kid === undefined || this.#kids.has(kid))) return 'ready';
    let pending = this.#loading;
    if (
      !pending &&
      !this.#closed &&
      this.options.now() - this.#lastFetchAt >= this.options.minRefreshIntervalMs
    )
      pending = this.#refresh();
    if (!pending) return this.#lookup ? 'ready' : 'unavailable';
    return this.#wait(pending);
  }

  async #wait(pending: Promise<void>): Promise<Readiness> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), this.options.jwksTimeoutMs);
      timer.unref();
    });
    const late = await Promise.race([pending.then(() => false), timedOut]);
    clearTimeout(timer);
    return late || !this.#lookup ? 'unavailable' : 'ready';
  }

  /** Stop the background refresh and abort a fetch in flight. The keys held stay usable. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort?.abort();
  }
}
