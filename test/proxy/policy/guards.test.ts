/**
 * Guards.admit on web Requests (what it reads of a request, a web Request has too), for what the
 * end-to-end tests do not reach: credentials in a cookie or a query parameter, Optional and
 * Permissive modes, and a rate limit on a request that carries no JSON-RPC call (a GET stream),
 * answered as HTTP 429.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isReply, type Reply } from '../../../src/proxy/mcp/wire/reply.js';
import { TrustedProxies } from '../../../src/proxy/policy/forwarded.js';
import { type GuardedRoute, Guards } from '../../../src/proxy/policy/guards.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { createMetrics } from '../../../src/shared/metrics.js';
import type { CredentialLocation, JwtAuthentication, RoutePolicy } from '../../../src/shared/table.js';
import { testIssuer } from '../../support/jwt.js';

type JsonReply = Extract<Reply, { kind: 'json' }>;

const ROUTE: GuardedRoute = { routeName: 'default/mcp', backendId: 'b', targets: () => 'one' };
let guards: Guards | undefined;

afterEach(() => guards?.close());

function newGuards(): Guards {
  guards = new Guards({
    logger: silentLogger,
    metrics: createMetrics(undefined, { processMetrics: false }),
    trustedProxies: new TrustedProxies([]),
  });
  return guards;
}

function policy(extra: Partial<RoutePolicy>): RoutePolicy {
  return { policies: ['default/p'], authorization: [], mcpAuthorization: [], ...extra };
}

async function admit(g: Guards, p: RoutePolicy, request: Request) {
  const url = new URL(request.url);
  return g.admit(request, p, ROUTE, url.pathname, url.searchParams, '127.0.0.1');
}

async function jwtPolicy(location: CredentialLocation, mode: JwtAuthentication['mode']) {
  const idp = await testIssuer('https://idp.test');
  const jwt: JwtAuthentication = {
    mode,
    location,
    providers: [{ issuer: idp.issuer, audiences: [], jwks: { inline: idp.jwks } }],
    resourceMetadata: {},
  };
  return { idp, policy: policy({ jwt }) };
}

describe('where the token is read from', () => {
  it('a cookie', async () => {
    const { idp, policy: p } = await jwtPolicy({ cookie: 'session' }, 'Strict');
    const token = await idp.sign({ sub: 'alice' });
    const ok = await admit(
      newGuards(),
      p,
      new Request('http://h/mcp', { headers: { cookie: `a=b; session=${token}` } }),
    );
    expect(isReply(ok)).toBe(false);
    expect((ok as { principal: string }).principal).toBe('https://idp.test\nalice');
  });

  it('a query parameter', async () => {
    const { idp, policy: p } = await jwtPolicy({ query: 'access_token' }, 'Strict');
    const token = await idp.sign({ sub: 'bob' });
    const ok = await admit(newGuards(), p, new Request(`http://h/mcp?access_token=${token}`));
    expect((ok as { principal: string }).principal).toBe('https://idp.test\nbob');
    const refused = await admit(newGuards(), p, new Request('http://h/mcp'));
    expect((refused as JsonReply).status).toBe(401);
  });
});

describe('modes', () => {
  it('Optional: no token is anonymous, a bad one is refused', async () => {
    const { policy: p } = await jwtPolicy({ header: 'authorization', prefix: 'Bearer ' }, 'Optional');
    const g = newGuards();
    const anonymous = await admit(g, p, new Request('http://h/mcp'));
    expect((anonymous as { principal: string }).principal).toBe('');
    const bad = await admit(g, p, new Request('http://h/mcp', { headers: { authorization: 'Bearer nope' } }));
    expect((bad as JsonReply).status).toBe(401);
  });

  it('Permissive: a bad token is anonymous', async () => {
    const { policy: p } = await jwtPolicy({ header: 'authorization', prefix: 'Bearer ' }, 'Permissive');
    const result = await admit(
      newGuards(),
      p,
      new Request('http://h/mcp', { headers: { authorization: 'Bearer nope' } }),
    );
    expect((result as { principal: string }).principal).toBe('');
  });
});

describe('rate limits on requests without a JSON-RPC call', () => {
  it('a GET over the budget gets 429 with Retry-After', async () => {
    const p = policy({
      rateLimit: {
        policy: 'default/p',
        entries: [{ local: [{ requests: 2, unitMs: 60_000, burst: 0 }], global: [] }],
      },
    });
    const g = newGuards();
    const get = () => admit(g, p, new Request('http://h/mcp', { method: 'GET' }));
    expect(isReply(await get())).toBe(false);
    expect(isReply(await get())).toBe(false);
    const refused = (await get()) as JsonReply;
    expect(refused.status).toBe(429);
    expect(Number(refused.headers?.['retry-after'])).toBeGreaterThan(0);
    const body = refused.body as { error: { code: number; data: { retryAfterMs: number } } };
    expect(body.error.code).toBe(-32003);
    expect(body.error.data.retryAfterMs).toBeGreaterThan(0);
  });
});
