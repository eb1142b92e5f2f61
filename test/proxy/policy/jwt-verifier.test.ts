import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type JwtProvider,
  type JwtResult,
  JwtVerifier,
  type JwtVerifierOptions,
} from '../../../src/proxy/policy/jwt-verifier.js';

const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'https://mcp.example.test/mcp';

interface Key {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function makeKey(kid: string, alg = 'RS256'): Promise<Key> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey: pair.privateKey, jwk };
}

interface SignOptions {
  readonly key?: Key;
  readonly kid?: string;
  readonly issuer?: string;
  readonly audience?: string | string[] | null;
  /** Seconds from now; null: no exp claim. */
  readonly expiresIn?: number | null;
  readonly notBefore?: number;
  readonly claims?: JWTPayload;
}

let rsa: Key;
let rsa2: Key;
let stranger: Key;
let ec: Key;
let ed: Key;

function sign(options: SignOptions = {}): Promise<string> {
  const key = options.key ?? rsa;
  const nowSec = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ sub: 'alice', jti: randomUUID(), ...options.claims })
    .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? ISSUER)
    .setIssuedAt(nowSec);
  if (options.audience !== null) jwt.setAudience(options.audience ?? AUDIENCE);
  if (options.expiresIn !== null) jwt.setExpirationTime(nowSec + (options.expiresIn ?? 300));
  if (options.notBefore !== undefined) jwt.setNotBefore(nowSec + options.notBefore);
  return jwt.sign(key.privateKey);
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

interface JwksServer {
  readonly url: string;
  fetches: number;
  body: string;
  mode: 'ok' | 'error' | 'stall' | 'chunked';
  setKeys(keys: readonly JWK[]): void;
  close(): Promise<void>;
}

const servers: Server[] = [];
const verifiers: JwtVerifier[] = [];

async function jwksServer(keys: readonly JWK[]): Promise<JwksServer> {
  const server = createServer((_request, response) => {
    state.fetches++;
    if (state.mode === 'stall') return;
    if (state.mode === 'error') {
      response.writeHead(503).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    if (state.mode === 'chunked') {
      for (let i = 0; i < state.body.length; i += 64 * 1024)
        response.write(state.body.slice(i, i + 64 * 1024));
      response.end();
      return;
    }
    response.end(state.body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: JwksServer = {
    url: `http://127.0.0.1:${port}/jwks.json`,
    fetches: 0,
    body: JSON.stringify({ keys }),
    mode: 'ok',
    setKeys(next) {
      state.body = JSON.stringify({ keys: next });
    },
    close: () => closeServer(server),
  };
  return state;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function remote(
  url: string,
  cacheDurationMs = 3_600_000,
  audiences: readonly string[] = [AUDIENCE],
): JwtProvider {
  return { issuer: ISSUER, audiences, jwks: { url, cacheDurationMs } };
}

function inline(
  keys: readonly JWK[],
  audiences: readonly string[] = [AUDIENCE],
  issuer = ISSUER,
): JwtProvider {
  return { issuer, audiences, jwks: { inline: JSON.stringify({ keys }) } };
}

function verifier(providers: readonly JwtProvider[], options: JwtVerifierOptions = {}): JwtVerifier {
  const made = new JwtVerifier(providers, options);
  verifiers.push(made);
  return made;
}

/** A clock the test moves; starts at the real time so that jose and SignJWT agree with it. */
function testClock(): { now: () => number; advance(ms: number): void } {
  let at = Date.now();
  return {
    now: () => at,
    advance(ms) {
      at += ms;
    },
  };
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function failureOf(result: JwtResult): string {
  return result.ok ? 'ok' : result.failure;
}

beforeAll(async () => {
  [rsa, rsa2, stranger, ec, ed] = await Promise.all([
    makeKey('k1'),
    makeKey('k2'),
    makeKey('k1'), // same kid as rsa, different key
    makeKey('ec1', 'ES256'),
    makeKey('ed1', 'EdDSA'),
  ]);
});

afterEach(async () => {
  for (const v of verifiers.splice(0)) v.close();
  await Promise.all(servers.splice(0).map(closeServer));
});

describe('JwtVerifier: what it accepts and refuses', () => {
  it('verifies a valid token against a remote JWKS, then answers from its cache synchronously', async () => {
    const server = await jwksServer([rsa.jwk]);
    const v = verifier([remote(server.url)]);
    const token = await sign({ claims: { groups: ['sales'] } });
    const first = await v.verify(token);
    expect(first).toMatchObject({ ok: true, issuer: ISSUER, claims: { sub: 'alice', groups: ['sales'] } });
    expect(first.ok && first.expiresAtMs).toBeGreaterThan(Date.now());
    const second = v.verify(token);
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toBe(first);
    expect(Object.isFrozen(first.ok && first.claims)).toBe(true);
    expect(server.fetches).toBe(1);
  });

  it('verifies ES256 and EdDSA tokens against an inline JWKS', async () => {
    const v = verifier([inline([ec.jwk, ed.jwk])]);
    expect(await v.verify(await sign({ key: ec }))).toMatchObject({ ok: true });
    expect(await v.verify(await sign({ key: ed }))).toMatchObject({ ok: true });
  });

  it('refuses an expired token, within a configurable clock tolerance', async () => {
    const v = verifier([inline([rsa.jwk])]);
    const expired = await sign({ expiresIn: -120 });
    const result = v.verify(expired);
    expect(result).not.toBeInstanceOf(Promise); // refused before any key is needed
    expect(result).toEqual({ ok: false, failure: 'expired', message: 'token expired' });
    // 10 s past exp: inside the default 30 s tolerance, outside a 0 s one.
    const justExpired = await sign({ expiresIn: -10 });
    expect(await v.verify(justExpired)).toMatchObject({ ok: true });
    const strict = verifier([inline([rsa.jwk])], { clockToleranceSec: 0 });
    expect(await strict.verify(justExpired)).toMatchObject({ ok: false, failure: 'expired' });
  });

  it('checks exp again on every cached hit', async () => {
    const clock = testClock();
    const v = verifier([inline([rsa.jwk])], { now: clock.now });
    const token = await sign({ expiresIn: 60 });
    expect(await v.verify(token)).toMatchObject({ ok: true });
    clock.advance(60_000 + 29_000);
    expect(v.verify(token)).toMatchObject({ ok: true });
    clock.advance(2_000);
    const late = v.verify(token);
    expect(late).not.toBeInstanceOf(Promise);
    expect(late).toMatchObject({ ok: false, failure: 'expired' });
    expect(v.cachedTokens).toBe(0);
  });

  it('refuses a token that is not valid yet', async () => {
    const v = verifier([inline([rsa.jwk])]);
    expect(await v.verify(await sign({ notBefore: 600 }))).toMatchObject({
      ok: false,
      failure: 'not-yet-valid',
    });
  });

  it('requires exp', async () => {
    const v = verifier([inline([rsa.jwk])]);
    expect(await v.verify(await sign({ expiresIn: null }))).toMatchObject({
      ok: false,
      failure: 'malformed',
      message: 'token has no expiry',
    });
  });

  it('checks the audience (RFC 8707): one of the configured audiences, string or array; none = any', async () => {
    const v = verifier([inline([rsa.jwk], [AUDIENCE, 'urn:other'])]);
    expect(await v.verify(await sign({ audience: 'https://elsewhere.example/mcp' }))).toEqual({
      ok: false,
      failure: 'audience',
      message: 'token audience does not include this resource',
    });
    expect(await v.verify(await sign({ audience: null }))).toMatchObject({ ok: false, failure: 'audience' });
    expect(await v.verify(await sign({ audience: ['urn:a', 'urn:other'] }))).toMatchObject({ ok: true });
    expect(await v.verify(await sign({ audience: AUDIENCE }))).toMatchObject({ ok: true });
    const any = verifier([inline([rsa.jwk], [])]);
    expect(await any.verify(await sign({ audience: 'urn:whatever' }))).toMatchObject({ ok: true });
    expect(await any.verify(await sign({ audience: null }))).toMatchObject({ ok: true });
  });

  it('picks the provider by iss: another issuer is refused, each issuer uses its own keys', async () => {
    const v = verifier([inline([rsa.jwk]), inline([ec.jwk], [], 'https://second.example')]);
    const other = v.verify(await sign({ issuer: 'https://evil.example' }));
    expect(other).not.toBeInstanceOf(Promise);
    expect(other).toMatchObject({ ok: false, failure: 'issuer' });
    expect(await v.verify(await sign({ key: ec, issuer: 'https://second.example' }))).toMatchObject({
      ok: true,
      issuer: 'https://second.example',
    });
    // Signed by the first issuer's key but claiming the second issuer: its keys do not have it.
    expect(await v.verify(await sign({ key: rsa, issuer: 'https://second.example' }))).toMatchObject({
      ok: false,
      failure: 'unknown-key',
    });
    const noIss = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ sub: 'x', exp: 9_999_999_999 })}.c2ln`;
    expect(v.verify(noIss)).toMatchObject({ ok: false, failure: 'issuer' });
  });

  it('refuses a token signed by a key the JWKS does not have (unknown-key), or a forged one (signature)', async () => {
    const server = await jwksServer([rsa.jwk]);
    const v = verifier([remote(server.url)]);
    expect(await v.verify(await sign({ key: rsa2 }))).toEqual({
      ok: false,
      failure: 'unknown-key',
      message: 'token signed by an unknown key',
    });
    // kid k1 is in the JWKS, but this k1 is another key.
    expect(await v.verify(await sign({ key: stranger }))).toMatchObject({ ok: false, failure: 'signature' });
    // A valid token with one byte of its signature changed.
    const good = await sign();
    const last = good.at(-2) === 'A' ? 'B' : 'A';
    const tampered = `${good.slice(0, -2)}${last}${good.at(-1)}`;
    expect(await v.verify(tampered)).toMatchObject({ ok: false, failure: 'signature' });
    expect(v.cachedTokens).toBe(0);
  });

  it('refuses HS256 (even with a matching oct key in the JWKS) and alg none', async () => {
    const secret = new TextEncoder().encode('a-shared-secret-of-enough-length-for-hs256');
    const oct = { kty: 'oct', kid: 'k1', k: Buffer.from(secret).toString('base64url'), alg: 'HS256' };
    const v = verifier([inline([oct, rsa.jwk])]);
    const hs = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(secret);
    const hsResult = v.verify(hs);
    expect(hsResult).not.toBeInstanceOf(Promise);
    expect(hsResult).toMatchObject({ ok: false, failure: 'signature' });
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 300 };
    for (const none of [
      `${b64({ alg: 'none' })}.${b64(claims)}.`,
      `${b64({ alg: 'NONE', kid: 'k1' })}.${b64(claims)}.`,
      `${b64({ kid: 'k1' })}.${b64(claims)}.c2ln`,
    ]) {
      expect(failureOf(await v.verify(none))).toBe('signature');
    }
    // The RSA key of the same JWKS still works.
    expect(await v.verify(await sign())).toMatchObject({ ok: true });
  });

  it('refuses a token over 16 KiB as malformed, synchronously, and garbage without throwing', async () => {
    const v = verifier([inline([rsa.jwk])]);
    const big = await sign({ claims: { padding: 'x'.repeat(17 * 1024) } });
    const result = v.verify(big);
    expect(result).not.toBeInstanceOf(Promise);
    expect(result).toEqual({ ok: false, failure: 'malformed', message: 'token too long' });
    const fits = await sign({ claims: { padding: 'x'.repeat(8 * 1024) } });
    expect(await v.verify(fits)).toMatchObject({ ok: true });
    for (const garbage of [
      '',
      'abc',
      'a.b.c',
      '...',
      '.eyJ9.',
      `${b64([])}.${b64([])}.x`,
      'e'.repeat(16 * 1024),
    ]) {
      expect(failureOf(await v.verify(garbage))).toBe('malformed');
    }
    expect(failureOf(await v.verify(undefined as unknown as string))).toBe('malformed');
  });

  it('never puts the token in a message', async () => {
    const v = verifier([inline([rsa.jwk])]);
    const tokens = [
      await sign({ expiresIn: -600 }),
      await sign({ audience: 'urn:nope' }),
      await sign({ key: rsa2 }),
      await sign({ key: stranger }),
      await sign({ issuer: 'urn:evil' }),
      await sign({ expiresIn: null }),
      await sign({ notBefore: 900 }),
    ];
    for (const token of tokens) {
      const result = await v.verify(token);
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.message.length).toBeLessThan(80);
      expect(result.message).not.toContain('eyJ');
      for (const part of token.split('.')) expect(result.message).not.toContain(part.slice(0, 12));
    }
  });
});

describe('JwtVerifier: key sets off the hot path', () => {
  it('rotation: a new kid is verified after one refresh, refreshes for unknown kids are rate-limited', async () => {
    const clock = testClock();
    const server = await jwksServer([rsa.jwk]);
    const v = verifier([remote(server.url)], { now: clock.now });
    expect(await v.verify(await sign())).toMatchObject({ ok: true });
    expect(server.fetches).toBe(1);

    server.setKeys([rsa.jwk, rsa2.jwk]);
    const rotated = await sign({ key: rsa2 });
    // Within a minute of the last fetch: no refresh, the kid is unknown.
    expect(await v.verify(rotated)).toMatchObject({ ok: false, failure: 'unknown-key' });
    expect(server.fetches).toBe(1);

    clock.advance(61_000);
    expect(await v.verify(rotated)).toMatchObject({ ok: true });
    expect(server.fetches).toBe(2);
    expect(v.verify(rotated)).toMatchObject({ ok: true }); // now cached, synchronous

    // 50 tokens with random unknown kids, at once then one by one: at most one fetch per interval.
    clock.advance(61_000);
    const random = await Promise.all(Array.from({ length: 50 }, () => sign({ kid: randomUUID() })));
    const burst = await Promise.all(random.slice(0, 25).map((t) => v.verify(t)));
    for (const t of random.slice(25)) burst.push(await v.verify(t));
    expect(new Set(burst.map(failureOf))).toEqual(new Set(['unknown-key']));
    expect(server.fetches).toBe(3);

    clock.advance(61_000);
    expect(await v.verify(await sign({ kid: randomUUID() }))).toMatchObject({ failure: 'unknown-key' });
    expect(server.fetches).toBe(4);
  });

  it('refreshes every cacheDuration in the background; an outage keeps the last good keys; close stops it', async () => {
    const server = await jwksServer([rsa.jwk]);
    const outcomes: string[] = [];
    const v = verifier([remote(server.url, 1_000)], {
      onJwksFetch: (_url, outcome) => outcomes.push(outcome),
    });
    const token = await sign();
    expect(await v.verify(token)).toMatchObject({ ok: true });

    server.setKeys([rsa.jwk, rsa2.jwk]);
    await waitFor(() => server.fetches >= 2);
    await waitFor(() => outcomes.length >= 2);
    // No demand refresh is due (default 60 s): only the background refresh can know k2.
    expect(await v.verify(await sign({ key: rsa2 }))).toMatchObject({ ok: true });
    expect(server.fetches).toBe(2);

    server.mode = 'error';
    await waitFor(() => outcomes.includes('error'));
    expect(v.verify(token)).toMatchObject({ ok: true });
    expect(await v.verify(await sign())).toMatchObject({ ok: true }); // keys kept through the outage
    expect(await v.verify(await sign({ key: rsa2 }))).toMatchObject({ ok: true });

    v.close();
    const fetches = server.fetches;
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(server.fetches).toBe(fetches);
  });

  it('JWKS server stopped: an already verified token still verifies synchronously, with no fetch', async () => {
    const clock = testClock();
    const server = await jwksServer([rsa.jwk]);
    const outcomes: string[] = [];
    const v = verifier([remote(server.url)], {
      now: clock.now,
      onJwksFetch: (_url, outcome) => outcomes.push(outcome),
    });
    const token = await sign();
    expect(await v.verify(token)).toMatchObject({ ok: true });
    await server.close();

    clock.advance(61_000);
    const started = performance.now();
    const again = v.verify(token);
    expect(performance.now() - started).toBeLessThan(50);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toMatchObject({ ok: true });
    expect(outcomes).toEqual(['ok']);

    // An unknown kid asks for a refresh, which fails: the kid stays unknown, the keys stay.
    expect(await v.verify(await sign({ key: rsa2 }))).toMatchObject({ ok: false, failure: 'unknown-key' });
    expect(outcomes).toEqual(['ok', 'error']);
    expect(v.verify(token)).toMatchObject({ ok: true });
    expect(await v.verify(await sign())).toMatchObject({ ok: true });
  });

  it('a JWKS never loaded: waits for the first fetch, at most jwksTimeoutMs, then jwks-unavailable', async () => {
    const clock = testClock();
    const server = await jwksServer([rsa.jwk]);
    server.mode = 'stall';
    const v = verifier([remote(server.url)], { now: clock.now, jwksTimeoutMs: 200 });
    const token = await sign();
    const started = Date.now();
    expect(await v.verify(token)).toEqual({
      ok: false,
      failure: 'jwks-unavailable',
      message: "the token issuer's signing keys are unavailable; retry later",
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    // Rate-limited: no new fetch within the interval, and no wait either.
    await waitFor(() => server.fetches === 1);
    const fast = v.verify(token);
    expect(fast).not.toBeInstanceOf(Promise);
    expect(fast).toMatchObject({ failure: 'jwks-unavailable' });

    server.mode = 'ok';
    clock.advance(61_000);
    expect(await v.verify(token)).toMatchObject({ ok: true });
    expect(server.fetches).toBe(2);
  });

  it('a JWKS server refusing connections at start: jwks-unavailable without waiting long', async () => {
    const server = await jwksServer([rsa.jwk]);
    await server.close();
    const v = verifier([remote(server.url)]);
    const started = Date.now();
    expect(await v.verify(await sign())).toMatchObject({ ok: false, failure: 'jwks-unavailable' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('an injected fetcher that ignores its signal, or throws, cannot hang or crash verification', async () => {
    const outcomes: string[] = [];
    const hanging = verifier([remote('http://127.0.0.1:9/jwks')], {
      fetchJwks: () => new Promise<unknown>(() => undefined),
      jwksTimeoutMs: 100,
      onJwksFetch: (_url, outcome) => outcomes.push(outcome),
    });
    expect(await hanging.verify(await sign())).toMatchObject({ ok: false, failure: 'jwks-unavailable' });
    await waitFor(() => outcomes.length === 1);
    expect(outcomes).toEqual(['error']);

    const throwing = verifier([remote('http://127.0.0.1:9/jwks')], {
      fetchJwks: () => {
        throw new Error('boom');
      },
      onJwksFetch: () => {
        throw new Error('metrics broke');
      },
    });
    expect(await throwing.verify(await sign())).toMatchObject({ ok: false, failure: 'jwks-unavailable' });

    const injected = verifier([remote('http://idp.invalid/jwks')], {
      fetchJwks: async (url, signal) => {
        expect(url).toBe('http://idp.invalid/jwks');
        expect(signal).toBeInstanceOf(AbortSignal);
        return { keys: [rsa.jwk] };
      },
    });
    expect(await injected.verify(await sign())).toMatchObject({ ok: true });
  });

  it('bounds the JWKS: over 1 MiB (declared or streamed) is refused, at most 100 keys are used', async () => {
    const huge = JSON.stringify({ keys: [rsa.jwk], padding: 'x'.repeat(1024 * 1024 + 10) });
    for (const mode of ['ok', 'chunked'] as const) {
      const server = await jwksServer([]);
      server.body = huge;
      server.mode = mode;
      const outcomes: string[] = [];
      const v = verifier([remote(server.url)], { onJwksFetch: (_url, outcome) => outcomes.push(outcome) });
      expect(await v.verify(await sign())).toMatchObject({ ok: false, failure: 'jwks-unavailable' });
      expect(outcomes).toEqual(['error']);
    }
    const many = Array.from({ length: 150 }, (_, i) => ({ ...ec.jwk, kid: `ec-${i}` }));
    const v = verifier([inline(many)]);
    expect(await v.verify(await sign({ key: ec, kid: 'ec-99' }))).toMatchObject({ ok: true });
    expect(await v.verify(await sign({ key: ec, kid: 'ec-100' }))).toMatchObject({ failure: 'unknown-key' });
    const tooBigInline = verifier([{ issuer: ISSUER, audiences: [], jwks: { inline: huge } }]);
    expect(await tooBigInline.verify(await sign())).toMatchObject({ failure: 'jwks-unavailable' });
  });

  it('forgets cached tokens whose key a refreshed JWKS no longer has', async () => {
    const clock = testClock();
    const server = await jwksServer([rsa.jwk, rsa2.jwk]);
    const v = verifier([remote(server.url)], { now: clock.now });
    const old = await sign({ key: rsa });
    const current = await sign({ key: rsa2 });
    expect(await v.verify(old)).toMatchObject({ ok: true });
    expect(await v.verify(current)).toMatchObject({ ok: true });
    expect(v.cachedTokens).toBe(2);

    server.setKeys([rsa2.jwk]);
    clock.advance(61_000);
    expect(await v.verify(await sign({ kid: 'k-new' }))).toMatchObject({ failure: 'unknown-key' });
    expect(server.fetches).toBe(2);
    expect(v.cachedTokens).toBe(1);
    expect(await v.verify(old)).toMatchObject({ ok: false, failure: 'unknown-key' });
    expect(v.verify(current)).toMatchObject({ ok: true });
  });
});

describe('JwtVerifier: the token cache', () => {
  it('keeps at most maxCachedTokens, oldest out', async () => {
    const v = verifier([inline([rsa.jwk])], { maxCachedTokens: 3 });
    const tokens = await Promise.all(Array.from({ length: 5 }, () => sign()));
    for (const token of tokens) expect(await v.verify(token)).toMatchObject({ ok: true });
    expect(v.cachedTokens).toBe(3);
    for (const token of tokens.slice(2)) expect(v.verify(token)).not.toBeInstanceOf(Promise);
    const evicted = v.verify(tokens[0]!);
    expect(evicted).toBeInstanceOf(Promise);
    expect(await evicted).toMatchObject({ ok: true });
    expect(v.cachedTokens).toBe(3);
    expect(v.verify(tokens[2]!)).toBeInstanceOf(Promise); // tokens[2] made room for tokens[0]

    const none = verifier([inline([rsa.jwk])], { maxCachedTokens: 0 });
    expect(await none.verify(tokens[0]!)).toMatchObject({ ok: true });
    expect(none.cachedTokens).toBe(0);
  });

  it('does not keep failures', async () => {
    const v = verifier([inline([rsa.jwk])]);
    const bad = await sign({ audience: 'urn:nope' });
    expect(await v.verify(bad)).toMatchObject({ ok: false });
    expect(v.cachedTokens).toBe(0);
    expect(v.verify(bad)).toBeInstanceOf(Promise);
  });

  it('a cached hit is cheap', async () => {
    const v = verifier([inline([rsa.jwk])]);
    const token = await sign({ claims: { scope: 'mcp:tools mcp:resources', groups: ['a', 'b', 'c'] } });
    expect(await v.verify(token)).toMatchObject({ ok: true });
    const rounds = 20_000;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) v.verify(token);
    const perCallUs = ((performance.now() - started) * 1000) / rounds;
    expect(perCallUs).toBeLessThan(50); // typically a few µs; generous for slow CI machines
  });
});
