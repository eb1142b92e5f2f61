/**
 * JWT verification for `jwtAuthentication` providers, with jose doing the cryptography.
 *
 * The provider is picked by the token's `iss`; jose's `jwtVerify` then checks the signature (keys
 * picked by `createLocalJWKSet`, asymmetric algorithms only), `iss`, `aud` (any configured audience,
 * RFC 8707), `exp` (required, as agentgateway requires it) and `nbf`, with a clock tolerance.
 *
 * Off the hot path: key sets are fetched and refreshed in the background (see jwks-cache.ts). A
 * verified token is kept, by its SHA-256, until it expires: the next call with it costs a hash and a
 * lookup and gets its answer synchronously, whatever the key server is doing. Failures are not kept:
 * the cheap ones (malformed, wrong issuer, expired) are as cheap to find again as to look up, caching
 * the expensive ones (bad signatures) would not slow an attacker who varies the token, and a token
 * refused for an unknown key may be valid after the next refresh.
 *
 * Never throws, and never logs or echoes the token: messages are short and safe to show a client.
 */
import { hash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import {
  type FetchJwks,
  fetchJwksJson,
  JwksCache,
  type JwksCacheOptions,
  type Readiness,
} from './jwks-cache.js';

export interface JwtProvider {
  readonly issuer: string;
  /** Empty: any audience accepted. */
  readonly audiences: readonly string[];
  readonly jwks: { readonly inline: string } | { readonly url: string; readonly cacheDurationMs: number };
}

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
  /** Clock in epoch milliseconds (default Date.now). */
  readonly now?: () => number;
  /** GET a JWKS (default: global fetch, http(s), ≤ 1 MiB). Must honour the signal. */
  readonly fetchJwks?: FetchJwks;
  /** Verified tokens kept (default 10,000; 0 keeps none). */
  readonly maxCachedTokens?: number;
  /** Longest a JWKS fetch, and a token waiting for one, may take (default 5 s). */
  readonly jwksTimeoutMs?: number;
  /** Fewest milliseconds between two fetches of one provider asked for by unknown `kid`s (default 60 s). */
  readonly minRefreshIntervalMs?: number;
  /** Clock skew allowed on `exp` and `nbf`, in seconds (default 30). */
  readonly clockToleranceSec?: number;
  /** Each remote JWKS fetch, for metrics. */
  readonly onJwksFetch?: (url: string, outcome: 'ok' | 'error') => void;
}

/** Asymmetric algorithms only: `none` and shared-secret HS* are never accepted. */
const ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];
const MAX_TOKEN_CHARS = 16 * 1024;

type Verified = Extract<JwtResult, { ok: true }>;

interface Kept {
  readonly result: Verified;
  readonly expiresAtMs: number;
  readonly kid: string | undefined;
}

interface Provider {
  readonly spec: JwtProvider;
  readonly keys: JwksCache;
}

const MESSAGES: Readonly<Record<JwtFailure, string>> = {
  malformed: 'token is not a well-formed JWT',
  expired: 'token expired',
  'not-yet-valid': 'token is not valid yet',
  issuer: 'token issuer is not trusted here',
  audience: 'token audience does not include this resource',
  signature: 'token signature is invalid',
  'unknown-key': 'token signed by an unknown key',
  'jwks-unavailable': "the token issuer's signing keys are unavailable; retry later",
};

const fail = (failure: JwtFailure, message = MESSAGES[failure]): JwtResult => ({
  ok: false,
  failure,
  message,
});

function deepFreeze<T>(value: T, depth = 0): T {
  if (typeof value === 'object' && value !== null && depth < 32 && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member, depth + 1);
  }
  return value;
}

export class JwtVerifier {
  readonly #providers = new Map<string, Provider>();
  /** SHA-256 (base64) of a verified token → its result; insertion order is age. */
  readonly #verified = new Map<string, Kept>();
  readonly #now: () => number;
  readonly #maxCached: number;
  readonly #toleranceSec: number;
  readonly #toleranceMs: number;

  constructor(providers: readonly JwtProvider[], options: JwtVerifierOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxCached = Math.max(0, Math.floor(options.maxCachedTokens ?? 10_000));
    this.#toleranceSec = Math.max(0, options.clockToleranceSec ?? 30);
    this.#toleranceMs = this.#toleranceSec * 1000;
    for (const spec of providers) {
      if (this.#providers.has(spec.issuer)) continue; // the first provider of an issuer wins
      const cacheOptions: JwksCacheOptions = {
        now: this.#now,
        fetchJwks: options.fetchJwks ?? fetchJwksJson,
        jwksTimeoutMs: Math.max(1, options.jwksTimeoutMs ?? 5_000),
        minRefreshIntervalMs: Math.max(0, options.minRefreshIntervalMs ?? 60_000),
        ...(options.onJwksFetch ? { onFetch: options.onJwksFetch } : {}),
        onChange: (kids) => this.#forgetRemovedKeys(spec.issuer, kids),
      };
      const keys =
        'inline' in spec.jwks
          ? JwksCache.inline(spec.jwks.inline, cacheOptions)
          : JwksCache.remote(spec.jwks.url, spec.jwks.cacheDurationMs, cacheOptions);
      this.#providers.set(spec.issuer, { spec, keys });
    }
  }

  /** Verified tokens currently kept. */
  get cachedTokens(): number {
    return this.#verified.size;
  }

  /**
   * Verify a bearer token. Synchronous when the answer needs no signature check: a token verified
   * before (and not expired since), and refusals found before any key is needed (too long, not a
   * JWT, refused algorithm, untrusted issuer, expired, no keys and no fetch due). Otherwise a
   * promise, which never rejects.
   */
  verify(token: string): Promise<JwtResult> | JwtResult {
    try {
      if (typeof token !== 'string' || token.length === 0) return fail('malformed');
      if (token.length > MAX_TOKEN_CHARS) return fail('malformed', 'token too long');
      const digest = hash('sha256', token, 'base64');
      const kept = this.#verified.get(digest);
      if (kept) {
        if (this.#now() < kept.expiresAtMs + this.#toleranceMs) return kept.result;
        this.#verified.delete(digest);
        return fail('expired');
      }
      let payload: JWTPayload;
      let kid: string | undefined;
      try {
        const header = decodeProtectedHeader(token);
        payload = decodeJwt(token);
        if (typeof header.alg !== 'string' || !ALGORITHMS.includes(header.alg))
          return fail('signature', 'token algorithm is not accepted');
        kid = typeof header.kid === 'string' ? header.kid : undefined;
      } catch {
        return fail('malformed');
      }
      const provider = typeof payload.iss === 'string' ? this.#providers.get(payload.iss) : undefined;
      if (!provider) return fail('issuer');
      // Expired whoever signed it: no key needed (and no refresh asked for) to refuse it.
      if (typeof payload.exp === 'number' && payload.exp * 1000 + this.#toleranceMs <= this.#now())
        return fail('expired');
      const readiness = provider.keys.ready(kid);
      if (readiness === 'unavailable') return fail('jwks-unavailable');
      return this.#check(token, digest, provider, kid, readiness).catch(() =>
        fail('malformed', 'token could not be verified'),
      );
    } catch {
      return fail('malformed', 'token could not be verified');
    }
  }

  async #check(
    token: string,
    digest: string,
    provider: Provider,
    kid: string | undefined,
    readiness: Readiness | Promise<Readiness>,
  ): Promise<JwtResult> {
    if ((await readiness) === 'unavailable') return fail('jwks-unavailable');
    const lookup = provider.keys.lookup;
    if (!lookup) return fail('jwks-unavailable');
    const { issuer, audiences } = provider.spec;
    const generation = provider.keys.generation;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, lookup, {
        issuer,
        algorithms: [...ALGORITHMS],
        requiredClaims: ['exp'],
        clockTolerance: this.#toleranceSec,
        currentDate: new Date(this.#now()),
        ...(audiences.length > 0 ? { audience: [...audiences] } : {}),
      }));
    } catch (error) {
      return failureOf(error);
    }
    const expiresAtMs = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
    const result: Verified = Object.freeze({
      ok: true as const,
      claims: deepFreeze(payload as Record<string, unknown>),
      issuer,
      expiresAtMs,
    });
    // Not kept if the key set changed meanwhile: its key may have been removed.
    if (expiresAtMs !== undefined && provider.keys.generation === generation)
      this.#keep(digest, { result, expiresAtMs, kid });
    return result;
  }

  #keep(digest: string, kept: Kept): void {
    if (this.#maxCached === 0) return;
    while (this.#verified.size >= this.#maxCached) {
      const oldest = this.#verified.keys().next();
      if (oldest.done) break;
      this.#verified.delete(oldest.value);
    }
    this.#verified.set(digest, kept);
  }

  /** A refreshed key set lacks a kid: tokens it signed (and tokens without a kid) are checked again. */
  #forgetRemovedKeys(issuer: string, kids: ReadonlySet<string>): void {
    for (const [digest, kept] of this.#verified) {
      if (kept.result.issuer === issuer && (kept.kid === undefined || !kids.has(kept.kid)))
        this.#verified.delete(digest);
    }
  }

  /** Stop background key refreshes (timers, fetches in flight) and forget verified tokens. */
  close(): void {
    for (const provider of this.#providers.values()) provider.keys.close();
    this.#verified.clear();
  }
}

function failureOf(error: unknown): JwtResult {
  if (error instanceof errors.JWTExpired) return fail('expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return fail('audience');
    if (error.claim === 'iss') return fail('issuer');
    if (error.claim === 'exp' && error.reason === 'missing') return fail('malformed', 'token has no expiry');
    if (error.claim === 'nbf' && error.reason === 'check_failed') return fail('not-yet-valid');
    return fail('malformed', 'token has an invalid claim');
  }
  if (error instanceof errors.JWKSNoMatchingKey) return fail('unknown-key');
  if (error instanceof errors.JWSSignatureVerificationFailed) return fail('signature');
  if (error instanceof errors.JOSEAlgNotAllowed) return fail('signature', 'token algorithm is not accepted');
  if (error instanceof errors.JWKSInvalid || error instanceof errors.JOSENotSupported)
    return fail('unknown-key', 'token signing key is not usable');
  return fail('malformed');
}
