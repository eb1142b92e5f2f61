/**
 * The policies of the routing table, ready to run: per RoutePolicy (tables are immutable, so the
 * object is its own cache key) the compiled rules, and per set of JWT providers one verifier, kept
 * across table swaps so that a new table does not refetch keys or forget verified tokens.
 *
 * `admit()` runs once per HTTP request on a route with a policy: authentication (401 with an RFC
 * 9728 challenge), `traffic.authorization` (403), rate limits of requests that carry no JSON-RPC
 * call (429); it returns the caller's Access, which the MCP layers ask about lists, calls and the
 * rate limits of each JSON-RPC request.
 */

import { timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../../shared/digest.js';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import type {
  ApiKeyAuthentication,
  ApiKeyEntry,
  Endpoint,
  GlobalRateLimit,
  JwtAuthentication,
  RoutePolicy,
  RoutingTable,
  UpstreamCredential,
} from '../../shared/table.js';
import { OTHER_TOOL } from '../../shared/tool-labels.js';
import type { Access, Item, RateLimited } from '../mcp/hop/context.js';
import { JsonRpcCode, rpcErrorReply } from '../mcp/wire/errors.js';
import type { HttpRequest, RequestHeaders } from '../mcp/wire/incoming.js';
import { RateLimitError } from '../mcp/wire/limits.js';
import { isReply, type Reply } from '../mcp/wire/reply.js';
import { type CompiledRule, compileRules, decide } from './authorize.js';
import { readCredential } from './credentials.js';
import { publicOrigin, type TrustedProxies } from './forwarded.js';
import { JwtVerifier } from './jwt-verifier.js';
import { LocalBuckets } from './local-buckets.js';
import { type Buckets, type CompiledRateLimit, compileRateLimit, takeLimits } from './rate-limits.js';
import { RedisBuckets } from './redis-buckets.js';
import { metadataUrl } from './resource-metadata.js';
import { type Exchanged, TokenExchanger } from './token-exchange.js';

export interface GuardsOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly trustedProxies: TrustedProxies;
  /** Keys of local rate-limit buckets held (hostile clients can mint identities). */
  readonly maxRateLimitKeys?: number;
}

interface CompiledPolicy {
  readonly policy: RoutePolicy;
  readonly jwt?: {
    readonly spec: JwtAuthentication;
    readonly verifier: JwtVerifier;
    readonly scopes: readonly string[];
  };
  readonly apiKey?: {
    readonly spec: ApiKeyAuthentication;
    readonly byDigest: ReadonlyMap<string, ApiKeyEntry>;
  };
  readonly authorization: readonly CompiledRule[];
  readonly mcpAuthorization: readonly CompiledRule[];
  readonly rateLimit?: CompiledRateLimit;
  readonly inspects: boolean;
  /** Some rule reads `request.headers`: only then are the headers copied for it (per request). */
  readonly readsHeaders: boolean;
}

/** What authentication found: the API key's entry, the validated bearer token (for an exchange). */
interface KeyHolder {
  readonly entry?: ApiKeyEntry;
  readonly token?: string;
}

/** What the route the request matched is called, for buckets, metrics and logs. */
export interface GuardedRoute {
  readonly routeName: string;
  readonly backendId: string;
  /** The backend's targets, named in a failed token exchange. */
  readonly targets: () => string;
}

type Claims = Readonly<Record<string, unknown>>;

/** What 401 and 403 answers have carried as their JSON-RPC code (clients act on the status and header). */
const AUTH_ERROR_CODE = -32001;

const EMPTY: Claims = Object.freeze({});

function scopesOf(metadata: Readonly<Record<string, unknown>>): string[] {
  const scopes = metadata.scopes_supported;
  return Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : [];
}

function tokenScopes(claims: Claims): Set<string> {
  const { scope, scp } = claims;
  if (typeof scope === 'string') return new Set(scope.split(' ').filter(Boolean));
  if (Array.isArray(scp)) return new Set(scp.filter((s): s is string => typeof s === 'string'));
  return new Set();
}

/** `Bearer` challenge parameters: quoted, with quotes and backslashes escaped. */
function challenge(params: Record<string, string | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}="${v!.replace(/["\\]/g, '\\$&')}"`);
  return `Bearer ${parts.join(', ')}`;
}

/** The gateway's own answers, as the MCP layers build them (one error shape, one conversion). */
function oauthError(status: 401 | 403, message: string, authenticate: string): Reply {
  return rpcErrorReply(status, AUTH_ERROR_CODE, message, null, { 'www-authenticate': authenticate });
}

function tooMany(refused: RateLimited): Reply {
  return new RateLimitError(refused.retryAfterMs, refused.policy).reply(null);
}

/** One verifier per set of providers, whichever routes and tables share it. */
const providersKey = (jwt: JwtAuthentication) => JSON.stringify(jwt.providers);
/** One Redis connection per server and failure mode. */
const redisKey = (redis: Endpoint, failureMode: GlobalRateLimit['failureMode']) =>
  `${redis.address}:${redis.port}|${failureMode}`;

/** Headers as a CEL map: lower-case names, at most 64 of them, values cut at 1 KiB. */
function headerMap(headers: RequestHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  headers.forEach((value, name) => {
    if (name === 'authorization' || name === 'cookie') return; // credentials stay out of rules
    if (++n > 64) return;
    out[name] = value.length > 1024 ? value.slice(0, 1024) : value;
  });
  return out;
}

export class Guards {
  readonly #compiled = new WeakMap<RoutePolicy, CompiledPolicy>();
  readonly #verifiers = new Map<string, JwtVerifier>();
  readonly #buckets: Buckets;
  /** The hot outcomes' counters, bound once (a labels() lookup per request costs). */
  readonly #authenticated: { ok: { inc(): void }; missing: { inc(): void } };
  readonly #exchanger: TokenExchanger;
  /** One Redis connection per server and failure mode, kept while a route uses it. */
  readonly #redis = new Map<string, RedisBuckets>();

  constructor(readonly options: GuardsOptions) {
    this.#authenticated = {
      ok: options.metrics.authentications.labels('ok'),
      missing: options.metrics.authentications.labels('missing'),
    };
    this.#exchanger = new TokenExchanger({
      onExchange: (outcome) => options.metrics.tokenExchanges.labels(outcome).inc(),
    });
    const local = new LocalBuckets({ maxKeys: options.maxRateLimitKeys ?? 100_000 });
    this.#buckets = {
      local,
      shared: (redis, failureMode) => {
        const key = redisKey(redis, failureMode);
        let buckets = this.#redis.get(key);
        if (!buckets) {
          const host = redis.address.includes(':') ? `[${redis.address}]` : redis.address;
          buckets = new RedisBuckets({
            url: `redis://${host}:${redis.port}`,
            failureMode,
            logger: options.logger,
          });
          this.#redis.set(key, buckets);
        }
        return buckets;
      },
    };
  }

  #verifier(jwt: JwtAuthentication): JwtVerifier {
    const key = providersKey(jwt);
    let verifier = this.#verifiers.get(key);
    if (!verifier) {
      const { logger } = this.options;
      verifier = new JwtVerifier(jwt.providers, {
        // The URL is the policy's, not a client's; the keys it serves are public.
        onJwksFetch: (url, outcome) => {
          if (outcome === 'error')
            logger.warn({ jwks: url }, 'cannot fetch JWKS; keeping the last good keys');
        },
      });
      this.#verifiers.set(key, verifier);
    }
    return verifier;
  }

  #compile(policy: RoutePolicy): CompiledPolicy {
    let compiled = this.#compiled.get(policy);
    if (compiled) return compiled;
    const rateLimit = policy.rateLimit ? compileRateLimit(policy.rateLimit) : undefined;
    compiled = {
      policy,
      ...(policy.jwt
        ? {
            jwt: {
              spec: policy.jwt,
              verifier: this.#verifier(policy.jwt),
              scopes: scopesOf(policy.jwt.resourceMetadata),
            },
          }
        : {}),
      ...(policy.apiKey
        ? { apiKey: { spec: policy.apiKey, byDigest: new Map(policy.apiKey.keys.map((k) => [k.sha256, k])) } }
        : {}),
      authorization: compileRules(policy.authorization),
      mcpAuthorization: compileRules(policy.mcpAuthorization),
      ...(rateLimit ? { rateLimit } : {}),
      inspects: policy.mcpAuthorization.length > 0 || rateLimit !== undefined,
      readsHeaders: JSON.stringify([
        policy.authorization,
        policy.mcpAuthorization,
        policy.rateLimit,
      ]).includes('headers'),
    };
    this.#compiled.set(policy, compiled);
    return compiled;
  }

  /** After a table swap: stop the verifiers (and their key refreshes) no route uses any more. */
  retain(table: RoutingTable): void {
    const verifiers = new Set<string>();
    const redis = new Map<string, GlobalRateLimit>();
    for (const listener of table.listeners) {
      for (const route of listener.routes) {
        const { policy } = route;
        if (policy?.jwt) verifiers.add(providersKey(policy.jwt));
        for (const entry of policy?.rateLimit?.entries ?? []) {
          for (const g of entry.global) redis.set(redisKey(g.redis, g.failureMode), g);
        }
      }
    }
    for (const [key, verifier] of this.#verifiers) {
      if (verifiers.has(key)) continue;
      verifier.close();
      this.#verifiers.delete(key);
    }
    for (const [key, buckets] of this.#redis) {
      if (redis.has(key)) continue;
      void buckets.close();
      this.#redis.delete(key);
    }
    // Connect now, not on the first limited call (which would wait for the connection).
    for (const g of redis.values()) this.#buckets.shared(g.redis, g.failureMode);
  }

  close(): void {
    for (const verifier of this.#verifiers.values()) verifier.close();
    this.#verifiers.clear();
    for (const buckets of this.#redis.values()) void buckets.close();
    this.#redis.clear();
  }

  admit(
    request: HttpRequest,
    policy: RoutePolicy,
    route: GuardedRoute,
    path: string,
    query: URLSearchParams,
    remoteAddress: string,
  ): Access | Reply | Promise<Access | Reply> {
    const compiled = this.#compile(policy);
    let holder: KeyHolder = {};
    if (compiled.apiKey) {
      const checked = this.#apiKey(request, query, compiled.apiKey);
      if (isReply(checked)) return checked;
      holder = checked;
    }
    const { jwt } = compiled;
    const anonymous = holder.entry ? `apikey\n${holder.entry.id}` : '';
    if (!jwt) return this.#authorize(request, compiled, route, path, remoteAddress, EMPTY, anonymous, holder);
    const { metrics } = this.options;
    const resourceMetadata = () =>
      metadataUrl(publicOrigin(request, remoteAddress, this.options.trustedProxies), path);
    const scope = jwt.scopes.length > 0 ? jwt.scopes.join(' ') : undefined;
    const token = readCredential(request, query, jwt.spec.location);
    if (token === undefined) {
      this.#authenticated.missing.inc();
      if (jwt.spec.mode === 'Strict') {
        return oauthError(
          401,
          'Unauthorized: this MCP endpoint requires an OAuth access token (see the WWW-Authenticate header)',
          challenge({ resource_metadata: resourceMetadata(), scope }),
        );
      }
      return this.#authorize(request, compiled, route, path, remoteAddress, EMPTY, anonymous, holder);
    }
    const finish = (
      result: Awaited<ReturnType<JwtVerifier['verify']>>,
    ): Access | Reply | Promise<Access | Reply> => {
      if (!result.ok) {
        metrics.authentications.labels(result.failure.replaceAll('-', '_')).inc();
        if (jwt.spec.mode === 'Permissive')
          return this.#authorize(request, compiled, route, path, remoteAddress, EMPTY, anonymous, holder);
        return oauthError(
          401,
          `Unauthorized: ${result.message}`,
          challenge({
            error: 'invalid_token',
            error_description: result.message,
            resource_metadata: resourceMetadata(),
            scope,
          }),
        );
      }
      const claims = result.claims;
      if (jwt.scopes.length > 0) {
        const held = tokenScopes(claims);
        if (!jwt.scopes.every((s) => held.has(s))) {
          metrics.authentications.labels('insufficient_scope').inc();
          return oauthError(
            403,
            `Forbidden: the token lacks a required scope (${scope})`,
            challenge({ error: 'insufficient_scope', scope, resource_metadata: resourceMetadata() }),
          );
        }
      }
      this.#authenticated.ok.inc();
      const sub = typeof claims.sub === 'string' ? claims.sub : '';
      return this.#authorize(
        request,
        compiled,
        route,
        path,
        remoteAddress,
        claims,
        `${result.issuer}\n${sub}`,
        { ...holder, token },
      );
    };
    const verified = jwt.verifier.verify(token);
    return verified instanceof Promise ? verified.then(finish) : finish(verified);
  }

  /** `traffic.apiKeyAuthentication`: the key's entry, nobody (Optional, Permissive), or a 401. */
  #apiKey(
    request: HttpRequest,
    query: URLSearchParams,
    apiKey: NonNullable<CompiledPolicy['apiKey']>,
  ): KeyHolder | Reply {
    const { metrics } = this.options;
    const presented = readCredential(request, query, apiKey.spec.location);
    const refuse = (message: string) =>
      apiKey.spec.mode === 'Permissive' ? {} : oauthError(401, `Unauthorized: ${message}`, 'ApiKey');
    if (presented === undefined) {
      this.#authenticated.missing.inc();
      return apiKey.spec.mode === 'Strict'
        ? oauthError(401, 'Unauthorized: an API key is required', 'ApiKey')
        : {};
    }
    const digest = sha256Hex(presented);
    const entry = apiKey.byDigest.get(digest);
    // The lookup is by digest; the comparison of the digests takes the same time whatever matched.
    if (!entry || !timingSafeEqual(Buffer.from(entry.sha256, 'hex'), Buffer.from(digest, 'hex'))) {
      metrics.authentications.labels('invalid').inc();
      return refuse('the API key is not valid');
    }
    this.#authenticated.ok.inc();
    return { entry };
  }

  #authorize(
    request: HttpRequest,
    compiled: CompiledPolicy,
    route: GuardedRoute,
    path: string,
    remoteAddress: string,
    claims: Claims,
    principal: string,
    holder: KeyHolder,
  ): Access | Reply | Promise<Access | Reply> {
    const { metrics, logger } = this.options;
    let requestVars: Record<string, unknown> | undefined;
    const apiKey = holder.entry?.metadata ?? EMPTY;
    const base = (): Record<string, unknown> => {
      requestVars ??= compiled.readsHeaders
        ? { method: request.method, path, headers: headerMap(request.headers) }
        : { method: request.method, path, headers: EMPTY };
      return { jwt: claims, request: requestVars, source: { address: remoteAddress }, apiKey };
    };
    if (compiled.authorization.length > 0) {
      const decision = decide(compiled.authorization, base());
      if (!decision.allowed) {
        metrics.authorizationDenials.labels(route.backendId, 'http', 'none').inc();
        logger.info(
          { route: route.routeName, policy: decision.policy, stage: 'http' },
          'request denied by policy',
        );
        return rpcErrorReply(
          403,
          JsonRpcCode.InvalidRequest,
          `Forbidden: AgentgatewayPolicy ${decision.policy} does not allow this request`,
        );
      }
    }
    const exchange = compiled.policy.tokenExchange;
    if (exchange) {
      if (holder.token === undefined) {
        return oauthError(
          401,
          "Unauthorized: this route exchanges the caller's token for the upstream's, so a valid bearer token is required",
          'Bearer',
        );
      }
      const exchanged = this.#exchanger.exchange(exchange, holder.token);
      const use = (result: Exchanged): Access | Reply | Promise<Access | Reply> => {
        if (!result.ok) {
          logger.warn(
            { route: route.routeName, backend: route.backendId },
            `token exchange failed: ${result.message}`,
          );
          return rpcErrorReply(
            502,
            JsonRpcCode.UpstreamUnavailable,
            `token exchange for the upstream target(s) ${route.targets()} failed at ${exchange.url}: ${result.message}`,
          );
        }
        const credential = { header: exchange.header, value: `${exchange.prefix}${result.token}` };
        return this.#limited(request, compiled, this.#access(compiled, route, principal, base, credential));
      };
      return exchanged instanceof Promise ? exchanged.then(use) : use(exchanged);
    }
    const credential = compiled.policy.upstreamCredential;
    return this.#limited(request, compiled, this.#access(compiled, route, principal, base, credential));
  }

  #limited(
    request: HttpRequest,
    compiled: CompiledPolicy,
    access: Access,
  ): Access | Reply | Promise<Access | Reply> {
    // Requests that carry no JSON-RPC call (GET streams, DELETE) are limited here, as HTTP.
    if (compiled.rateLimit && request.method !== 'POST') {
      const refused = access.limit(request.method);
      const answer = (r: RateLimited | undefined): Access | Reply => (r ? tooMany(r) : access);
      return refused instanceof Promise ? refused.then(answer) : answer(refused);
    }
    return access;
  }

  #access(
    compiled: CompiledPolicy,
    route: GuardedRoute,
    principal: string,
    base: () => Record<string, unknown>,
    credential: UpstreamCredential | undefined,
  ): Access {
    const { metrics, logger } = this.options;
    const buckets = this.#buckets;
    // A call is authorized and then limited with the same variables: built once.
    let lastItem: Item | undefined;
    let lastMethod = '';
    let lastVars: Record<string, unknown> | undefined;
    const mcpVars = (method: string, item?: Item) => {
      if (lastVars !== undefined && item === lastItem && method === lastMethod) return lastVars;
      const mcp: Record<string, unknown> = { method };
      if (item) {
        mcp[item.kind] = {
          target: item.target,
          name: item.name,
          ...(item.args === undefined ? {} : { arguments: item.args }),
        };
      }
      lastItem = item;
      lastMethod = method;
      lastVars = { ...base(), mcp };
      return lastVars;
    };
    return {
      principal,
      inspects: compiled.inspects,
      filtersLists: compiled.mcpAuthorization.length > 0,
      ...(credential ? { upstreamCredential: credential } : {}),
      allows(item, stage) {
        if (compiled.mcpAuthorization.length === 0) return true;
        const method =
          item.kind === 'tool' ? 'tools/call' : item.kind === 'prompt' ? 'prompts/get' : 'resources/read';
        const decision = decide(compiled.mcpAuthorization, mcpVars(method, item));
        if (decision.allowed) return true;
        const tool =
          item.kind === 'tool'
            ? metrics.toolLabels.label(route.backendId, item.target, item.name)
            : OTHER_TOOL;
        metrics.authorizationDenials.labels(route.backendId, stage, tool).inc();
        if (stage === 'call') {
          logger.info(
            { route: route.routeName, policy: decision.policy, target: item.target, kind: item.kind },
            'call denied by policy',
          );
        }
        return false;
      },
      limit(method, item) {
        const limit = compiled.rateLimit;
        if (!limit) return undefined;
        const count = (refused: RateLimited | undefined) => {
          if (refused) {
            const tool = item ? metrics.toolLabels.label(route.backendId, item.target, item.name) : 'none';
            metrics.rateLimitRejections.labels(route.backendId, tool, refused.scope).inc();
          }
          return refused;
        };
        const refused = takeLimits(limit, buckets, route.routeName, mcpVars(method, item));
        return refused instanceof Promise ? refused.then(count) : count(refused);
      },
    };
  }
}
