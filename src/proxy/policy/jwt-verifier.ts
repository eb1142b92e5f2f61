/**
 * JWT verification for `jwtAuthentication` providers, with jose doing the cryptography.
 *
 * Off the hot path: remote key sets are fetched at start and refreshed every `cacheDuration` in
 * the background; a token whose `kid` is unknown refreshes at most once per minute per provider,
 * and a failed fetch keeps the last good keys. A verified token is kept (by its SHA-256) until it
 * expires, so a call whose token was verified before costs a hash and a lookup, synchronously, and
 * a key-server outage never delays it. Failures are not kept: they are cheap to find again and a
 * refresh may make the token valid.
 */
import { createHash } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import type { JwtProviderSpec } from '../../shared/table.js';

export type JwtFailure =
  | 'malformed'
  | 'expired'
  | 'not-yet-valid'
  | 'issuer'
  | 'audience'
  | 'signature'
  | 'unknown-key'
  | 'jwks-unavailable';

export type JwtResult =
  | {
      readonly ok: true;
      readonly claims: Readonly<Record<string, unknown>>;
      readonly issuer: string;
      readonly expiresAtMs: number | undefined;
    }
  | { readonly ok: false; readonly failure: JwtFailure; readonly message: string };

export interface JwtVerifierOptions {
  readonly now?: () => number;
  readonly fetchJwks?: (url: string, signal: AbortSignal) => Promise<unknown>;
  readonly maxCachedTokens?: number;
  readonly jwksTimeoutMs?: number;
  readonly minRefreshIntervalMs?: number;
  readonly clockToleranceSec?: number;
  readonly onJwksFetch?: (url: string, outcome: 'ok' | 'error') => void;
}

/** Asymmetric algorithms only: `none` and shared-secret HS* are never accepted. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const MAX_TOKEN = 16 * 1024;
const MAX_JWKS_BYTES = 1024 * 1024;
const MAX_KEYS = 100;

const fail = (failure: JwtFailure, message: string): JwtResult => ({ ok: false, failure, message });

async function fetchJson(url: string, signal: AbortSignal): Promise<unknown> {
  const response = await fetch(url, { signal, redirect: 'error', headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_JWKS_BYTES) throw new Error('JWKS too large');
  const text = await response.text();
  if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS too large');
  return JSON.parse(text) as unknown;
}

function keySetOf(value: unknown): JSONWebKeySet | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const keys = (value as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) return undefined;
  return {
    keys: keys.filter((k) => typeof k === 'object' && k !== null).slice(0, MAX_KEYS),
  } as JSONWebKeySet;
}

class ProviderKeys {
  keys: ReturnType<typeof createLocalJWKSet> | undefined;
  kids = new Set<string>();
  #loading: Promise<void> | undefined;
  #lastFetch = Number.NEGATIVE_INFINITY;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly spec: JwtProviderSpec,
    readonly options: Required<Pick<JwtVerifierOptions, 'jwksTimeoutMs' | 'minRefreshIntervalMs'>> &
      Pick<JwtVerifierOptions, 'fetchJwks' | 'onJwksFetch'>,
    readonly now: () => number,
  ) {
    if ('inline' in spec.jwks) {
      try {
        this.#use(keySetOf(JSON.parse(spec.jwks.inline)));
      } catch {
        // An inline JWKS that is not JSON verifies nothing: tokens get jwks-unavailable.
      }
      return;
    }
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), Math.max(spec.jwks.cacheDurationMs, 1_000));
    this.#timer.unref();
  }

  #use(set: JSONWebKeySet | undefined): void {
    if (!set) return;
    this.keys = createLocalJWKSet(set);
    this.kids = new Set(set.keys.flatMap((k) => (typeof k.kid === 'string' ? [k.kid] : [])));
  }

  /** Fetch the remote key set (one fetch at a time); failures keep the last good keys. */
  refresh(): Promise<void> {
    if ('inline' in this.spec.jwks) return Promise.resolve();
    if (this.#loading) return this.#loading;
    const { url } = this.spec.jwks;
    this.#lastFetch = this.now();
    const fetcher = this.options.fetchJwks ?? fetchJson;
    this.#loading = fetcher(url, AbortSignal.timeout(this.options.jwksTimeoutMs))
      .then((value) => {
        const set = keySetOf(value);
        if (!set) throw new Error('not a JWKS');
        this.#use(set);
        this.options.onJwksFetch?.(url, 'ok');
      })
      .catch(() => this.options.onJwksFetch?.(url, 'error'))
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }

  /** Wait for keys that can check `kid`: a first load, or a refresh for an unknown kid (rate-limited). */
  async ready(kid: string | undefined): Promise<void> {
    if ('inline' in this.spec.jwks) return;
    const unknownKid = kid !== undefined && !this.kids.has(kid);
    if (this.keys && !unknownKid) return;
    const due = this.now() - this.#lastFetch >= this.options.minRefreshIntervalMs;
    const pending = this.#loading ?? (due || !this.keys ? this.refresh() : undefined);
    if (!pending) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.jwksTimeoutMs);
    });
    await Promise.race([pending, timeout]);
    clearTimeout(timer);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}

interface Kept {
  readonly result: JwtResult & { ok: true };
  readonly expiresAtMs: number;
}

export class JwtVerifier {
  readonly #providers = new Map<string, ProviderKeys>();
  readonly #verified = new Map<string, Kept>();
  readonly #now: () => number;
  readonly #maxCached: number;
  readonly #tolerance: number;

  constructor(providers: readonly JwtProviderSpec[], options: JwtVerifierOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxCached = options.maxCachedTokens ?? 10_000;
    this.#tolerance = options.clockToleranceSec ?? 30;
    const keyOptions = {
      jwksTimeoutMs: options.jwksTimeoutMs ?? 5_000,
      minRefreshIntervalMs: options.minRefreshIntervalMs ?? 60_000,
      ...(options.fetchJwks ? { fetchJwks: options.fetchJwks } : {}),
      ...(options.onJwksFetch ? { onJwksFetch: options.onJwksFetch } : {}),
    };
    for (const spec of providers) {
      if (!this.#providers.has(spec.issuer))
        this.#providers.set(spec.issuer, new ProviderKeys(spec, keyOptions, this.#now));
    }
  }

  get cachedTokens(): number {
    return this.#verified.size;
  }

  verify(token: string): JwtResult | Promise<JwtResult> {
    if (token.length > MAX_TOKEN) return fail('malformed', 'token too long');
    const hash = createHash('sha256').update(token).digest('base64');
    const kept = this.#verified.get(hash);
    if (kept) {
      if (kept.expiresAtMs + this.#tolerance * 1000 > this.#now()) return kept.result;
      this.#verified.delete(hash);
      return fail('expired', 'token expired');
    }
    let payload: JWTPayload;
    let kid: string | undefined;
    try {
      payload = decodeJwt(token);
      const header = decodeProtectedHeader(token);
      if (typeof header.alg !== 'string' || !ALGORITHMS.includes(header.alg))
        return fail('signature', 'token signed with an algorithm this gateway does not accept');
      kid = header.kid;
    } catch {
      return fail('malformed', 'not a JWT');
    }
    const provider = typeof payload.iss === 'string' ? this.#providers.get(payload.iss) : undefined;
    if (!provider) return fail('issuer', 'token issued by an issuer this route does not trust');
    return this.#check(token, hash, provider, kid);
  }

  async #check(
    token: string,
    hash: string,
    provider: ProviderKeys,
    kid: string | undefined,
  ): Promise<JwtResult> {
    await provider.ready(kid);
    const keys = provider.keys;
    if (!keys) return fail('jwks-unavailable', "the issuer's signing keys are not available; retry later");
    const { audiences, issuer } = provider.spec;
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer,
        algorithms: ALGORITHMS,
        clockTolerance: this.#tolerance,
        currentDate: new Date(this.#now()),
        ...(audiences.length > 0 ? { audience: [...audiences] } : {}),
      });
      const expiresAtMs = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
      const result = { ok: true as const, claims: payload as Record<string, unknown>, issuer, expiresAtMs };
      // Tokens without an expiry are verified every time: they cannot be kept "until they expire".
      if (expiresAtMs !== undefined) {
        if (this.#verified.size >= this.#maxCached)
          this.#verified.delete(this.#verified.keys().next().value as string);
        this.#verified.set(hash, { result, expiresAtMs });
      }
      return result;
    } catch (error) {
      return failureOf(error);
    }
  }

  close(): void {
    for (const provider of this.#providers.values()) provider.close();
    this.#verified.clear();
  }
}

function failureOf(error: unknown): JwtResult {
  if (error instanceof errors.JWTExpired) return fail('expired', 'token expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return fail('audience', 'token audience does not include this resource');
    if (error.claim === 'iss') return fail('issuer', 'token issued by an issuer this route does not trust');
    if (error.claim === 'nbf' || error.claim === 'iat') return fail('not-yet-valid', 'token not valid yet');
    return fail('malformed', `token claim ${error.claim} is invalid`);
  }
  if (error instanceof errors.JWKSNoMatchingKey) return fail('unknown-key', 'token signed by an unknown key');
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return fail('signature', 'token signature is invalid');
  if (error instanceof errors.JOSEAlgNotAllowed) return fail('signature', 'token algorithm not accepted');
  return fail('malformed', 'token could not be verified');
}
