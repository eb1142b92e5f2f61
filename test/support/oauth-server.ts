/**
 * A real OAuth 2.1 authorization server for end-to-end tests: `oidc-provider` on 127.0.0.1 with
 * dynamic client registration (public clients, PKCE S256), one pre-registered confidential
 * client, RFC 8707 resource indicators whose access tokens are JWTs with `aud` = the resource,
 * account claims (`groups`, `email`, ...) inside those access tokens, an RFC 8693 token-exchange
 * grant, and interactions (login, consent) completed server-side so a program can follow the
 * authorization URL with a cookie-keeping fetch loop and receive its `code`.
 *
 * `runSdkOAuthFlow` drives the real `@modelcontextprotocol/sdk` client through that flow against an
 * MCP URL protected by this server (401 → RFC 9728 metadata → registration → authorization →
 * token → reconnect).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OAuthClientProvider, OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { exportJWK, generateKeyPair, type JWTPayload, jwtVerify, SignJWT } from 'jose';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/** What an account carries into its tokens besides `sub`. */
export interface AccountSpec {
  readonly groups?: readonly string[];
  /** Defaults to `<sub>@example.test`. */
  readonly email?: string;
  /** More claims for the access token (and the ID token / userinfo when `openid` is asked for). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

export interface AuthServerOptions {
  /** Known accounts by `sub`. Default: alice (groups eng), bob (groups sales). */
  readonly accounts?: Readonly<Record<string, AccountSpec>>;
  /** Listen on this port of 127.0.0.1 (e.g. from ports.ts `freePort`); default an ephemeral one. */
  readonly port?: number;
  /** Scopes every resource server (every `resource`) offers; default `['mcp:tools']`. */
  readonly resourceScopes?: readonly string[];
  /** Access token lifetime in seconds (authorization code, refresh, exchange); default 600. */
  readonly accessTokenTtlSec?: number;
  /** Pre-registered confidential client; the secret defaults to random bytes. */
  readonly confidentialClient?: {
    readonly clientId?: string;
    readonly clientSecret?: string;
    readonly authMethod?: 'client_secret_basic' | 'client_secret_post';
    readonly redirectUris?: readonly string[];
  };
  /** Which resource indicators are acceptable; others get `invalid_target`. Default: any http(s) URL. */
  readonly allowResource?: (resource: string) => boolean;
  /**
   * Scope used when an authorization request names none (oidc-provider refuses such a request with
   * `access_denied`, "no scope was granted"); default all `resourceScopes`; `false` keeps it strict.
   */
  readonly defaultScope?: string | false;
  /** Account the automated login picks when the authorization request has no known `login_hint`. */
  readonly loginAs?: string;
}

export interface MintOptions {
  readonly sub: string;
  /** `aud` (a single resource indicator, e.g. the MCP URL). */
  readonly audience: string;
  readonly scope?: string;
  /** Extra claims; they override the account's (`groups`, `email`), `scope` and `client_id`, not the registered ones. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** Lifetime from now; negative for an already expired token. Default 600. */
  readonly expiresInSec?: number;
  /** `client_id` claim; default `harness-mint`. */
  readonly clientId?: string;
}

export interface ForeignMintOptions extends MintOptions {
  /** `iss`; default this server's issuer (so only the signature is wrong). */
  readonly issuer?: string;
  /** `kid` header; default the kid this server publishes (so the verifier finds a key, and it mismatches). */
  readonly kid?: string;
}

export interface TokenExchangeRequest {
  readonly subjectToken: string;
  readonly subjectTokenType?: string;
  readonly resource?: string;
  readonly audience?: string;
  readonly scope?: string;
  /**
   * Who asks; default the pre-registered confidential client. A `clientId` without `clientSecret`
   * asks as a public client (`client_id` in the form, no authentication).
   */
  readonly clientId?: string;
  readonly clientSecret?: string;
}

export interface TokenExchangeRecord {
  readonly clientId: string;
  readonly sub: string;
  readonly audience: string;
}

export interface AuthServer {
  /** `http://127.0.0.1:<port>` (no trailing slash); the `iss` of every token. */
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly tokenEndpoint: string;
  readonly authorizationEndpoint: string;
  readonly registrationEndpoint: string;
  /** `<issuer>/.well-known/openid-configuration` (the same document is at `/.well-known/oauth-authorization-server`). */
  readonly discoveryUrl: string;
  /** The pre-registered confidential client (grants: authorization_code, refresh_token, client_credentials, token exchange). */
  readonly confidentialClient: {
    readonly clientId: string;
    readonly clientSecret: string;
    readonly authMethod: 'client_secret_basic' | 'client_secret_post';
  };
  /** A JWT access token signed with the key the server publishes, as the server would issue it. */
  mintToken(opts: MintOptions): Promise<string>;
  /** The same, signed by a second key pair the server does not publish (and optionally another `iss`/`kid`). */
  mintWithKey(opts: ForeignMintOptions): Promise<string>;
  /** Which account the automated login uses when the request's `login_hint` names none. */
  loginAs(sub: string | undefined): void;
  /** RFC 8693 exchange at the token endpoint (default: as the confidential client); the raw answer. */
  exchangeToken(request: TokenExchangeRequest): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Successful token exchanges so far. */
  exchangeCount(): number;
  /** Successful token exchanges so far, in order. */
  exchanges(): readonly TokenExchangeRecord[];
  /** Errors oidc-provider reported as server errors (empty when all is well); for assertions, never logged. */
  serverErrors(): readonly Error[];
  close(): Promise<void>;
}

const DEFAULT_ACCOUNTS: Record<string, AccountSpec> = {
  alice: { groups: ['eng'] },
  bob: { groups: ['sales'] },
};

// ---- the small part of oidc-provider's (untyped) API this file uses ----

interface OidcClient {
  readonly clientId: string;
  readonly clientAuthMethod: string;
}

interface OidcContext {
  oidc: {
    params: Record<string, unknown>;
    client: OidcClient;
  };
  body: unknown;
  type: string;
  status: number;
}

interface OidcToken {
  accountId?: string;
  resourceServer?: { accessTokenTTL?: number };
  expiration: number;
  save(): Promise<string>;
}

interface OidcGrant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}

interface InteractionDetails {
  prompt: {
    name: string;
    details: {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
  };
  params: Record<string, unknown>;
  session?: { accountId?: string };
  grantId?: string;
}

interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  registerGrantType(name: string, handler: (ctx: OidcContext) => Promise<void>, params: string[]): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  Grant: {
    new (init: { accountId: string; clientId: string }): OidcGrant;
    find(id: string): Promise<OidcGrant | undefined>;
  };
  AccessToken: new (init: {
    accountId: string;
    client: OidcClient;
    gty: string;
    scope?: string;
  }) => OidcToken;
  ResourceServer: new (identifier: string, info: ResourceServerInfo) => { accessTokenTTL?: number };
}

type OidcErrorClass = new (description?: string) => Error;

interface OidcModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
  errors: Record<
    'InvalidGrant' | 'InvalidRequest' | 'InvalidTarget' | 'UnauthorizedClient' | 'AccessDenied',
    OidcErrorClass
  >;
}

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

interface ResourceServerInfo {
  scope: string;
  audience: string;
  accessTokenTTL: number;
  accessTokenFormat: 'jwt';
  jwt: { sign: { alg: 'RS256' } };
}

/**
 * oidc-provider announces itself on the console: an "unsupported runtime" warning at import on
 * Node 20, and development notices (in-memory adapter, ...) at construction. Drop only those.
 */
async function quietly<T>(work: () => Promise<T> | T): Promise<T> {
  const { warn, info } = console;
  const ours = (args: unknown[]) => typeof args[0] === 'string' && args[0].startsWith('oidc-provider ');
  console.warn = (...args: unknown[]) => {
    if (!ours(args)) warn.apply(console, args);
  };
  console.info = (...args: unknown[]) => {
    if (!ours(args)) info.apply(console, args);
  };
  try {
    return await work();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

let oidcModule: Promise<OidcModule> | undefined;
function loadOidcProvider(): Promise<OidcModule> {
  // A non-literal specifier: oidc-provider ships no types (the interfaces above stand in for them),
  // and a dynamic import lets `quietly` catch the warning printed while the module evaluates.
  const specifier: string = 'oidc-provider';
  oidcModule ??= quietly(() => import(specifier) as Promise<OidcModule>);
  return oidcModule;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.hash;
  } catch {
    return false;
  }
}

export async function startAuthServer(options: AuthServerOptions = {}): Promise<AuthServer> {
  const { default: Provider, errors } = await loadOidcProvider();
  const accounts = options.accounts ?? DEFAULT_ACCOUNTS;
  const resourceScopes = options.resourceScopes ?? ['mcp:tools'];
  const accessTokenTtl = options.accessTokenTtlSec ?? 600;
  const allowResource = options.allowResource ?? isHttpUrl;
  const confidential = {
    clientId: options.confidentialClient?.clientId ?? 'mcplane-gateway',
    clientSecret: options.confidentialClient?.clientSecret ?? randomBytes(24).toString('base64url'),
    authMethod: options.confidentialClient?.authMethod ?? ('client_secret_basic' as const),
  };
  let defaultLogin = options.loginAs;
  const exchanges: TokenExchangeRecord[] = [];
  const serverErrors: Error[] = [];

  // The key the provider signs with and publishes, and one it never heard of.
  const kid = `harness-${randomUUID().slice(0, 8)}`;
  const signing = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256');
  const privateJwk = { ...(await exportJWK(signing.privateKey)), kid, alg: 'RS256', use: 'sig' };

  // Listen first: the issuer names the port.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  const port = await listen(server, options.port ?? 0);
  const issuer = `http://127.0.0.1:${port}`;

  function accountClaims(sub: string): Record<string, unknown> | undefined {
    const account = accounts[sub];
    if (!account) return undefined;
    return {
      ...(account.groups ? { groups: [...account.groups] } : {}),
      email: account.email ?? `${sub}@example.test`,
      ...account.claims,
    };
  }

  function resourceServerInfo(resource: string): ResourceServerInfo {
    if (!allowResource(resource)) throw new errors.InvalidTarget('this resource is not served here');
    return {
      scope: resourceScopes.join(' '),
      audience: resource,
      accessTokenTTL: accessTokenTtl,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'RS256' } },
    };
  }

  const ttl = (seconds: number) => () => seconds;
  const configuration: Record<string, unknown> = {
    jwks: { keys: [privateJwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: [
      {
        client_id: confidential.clientId,
        client_secret: confidential.clientSecret,
        token_endpoint_auth_method: confidential.authMethod,
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE_GRANT],
        response_types: ['code'],
        redirect_uris: [
          ...(options.confidentialClient?.redirectUris ?? ['http://127.0.0.1/oauth-harness/callback']),
        ],
      },
    ],
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', 'email', 'groups', ...resourceScopes],
    claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => resourceServerInfo(resource),
      },
    },
    pkce: { required: () => true },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: unknown, sub: string) => {
      const claims = accountClaims(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: () => ({ sub, ...claims }) };
    },
    // The account's claims inside every access token issued for an account (not client_credentials).
    extraTokenClaims: (_ctx: unknown, token: OidcToken) =>
      token.accountId ? accountClaims(token.accountId) : undefined,
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(grant: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    clientBasedCORS: () => true,
    renderError: (ctx: OidcContext, out: Record<string, unknown>) => {
      ctx.type = 'json';
      ctx.body = out;
    },
    ttl: {
      AccessToken: (_ctx: unknown, token: OidcToken) =>
        token.resourceServer?.accessTokenTTL ?? accessTokenTtl,
      AuthorizationCode: ttl(60),
      ClientCredentials: (_ctx: unknown, token: OidcToken) =>
        token.resourceServer?.accessTokenTTL ?? accessTokenTtl,
      IdToken: ttl(600),
      RefreshToken: ttl(3600),
      Interaction: ttl(600),
      Session: ttl(3600),
      Grant: ttl(3600),
    },
  };
  const provider = await quietly(() => new Provider(issuer, configuration));
  provider.on('server_error', (_ctx, error) => {
    serverErrors.push(error instanceof Error ? error : new Error(String(error)));
  });

  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx) => {
      const params = ctx.oidc.params;
      const client = ctx.oidc.client;
      if (client.clientAuthMethod === 'none') {
        throw new errors.UnauthorizedClient('token exchange is for confidential clients');
      }
      const subjectToken = params.subject_token;
      if (typeof subjectToken !== 'string' || !subjectToken) {
        throw new errors.InvalidRequest("missing required parameter 'subject_token'");
      }
      const subjectType = params.subject_token_type;
      if (subjectType !== ACCESS_TOKEN_TYPE && subjectType !== JWT_TOKEN_TYPE) {
        throw new errors.InvalidRequest('subject_token_type must name an access token or a JWT');
      }
      const requested = params.requested_token_type;
      if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
        throw new errors.InvalidRequest('only access tokens are issued');
      }
      const target = params.resource ?? params.audience;
      if (typeof target !== 'string' || !target) {
        throw new errors.InvalidTarget('a resource or audience is required');
      }
      let subject: JWTPayload;
      try {
        ({ payload: subject } = await jwtVerify(subjectToken, signing.publicKey, {
          issuer,
          typ: 'at+jwt',
          algorithms: ['RS256'],
        }));
      } catch {
        throw new errors.InvalidGrant('subject_token is invalid, expired or not issued here');
      }
      if (typeof subject.sub !== 'string' || !subject.sub) {
        throw new errors.InvalidGrant('subject_token has no subject');
      }
      const offered = new Set(resourceScopes);
      const asked = typeof params.scope === 'string' ? params.scope : subject.scope;
      const scope =
        typeof asked === 'string'
          ? asked
              .split(' ')
              .filter((s) => offered.has(s))
              .join(' ')
          : '';
      const token = new provider.AccessToken({
        accountId: subject.sub,
        client,
        gty: 'token_exchange',
        ...(scope ? { scope } : {}),
      });
      token.resourceServer = new provider.ResourceServer(target, resourceServerInfo(target));
      const value = await token.save();
      exchanges.push({ clientId: client.clientId, sub: subject.sub, audience: target });
      ctx.body = {
        access_token: value,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        expires_in: token.expiration,
        ...(scope ? { scope } : {}),
      };
    },
    ['subject_token', 'subject_token_type', 'requested_token_type', 'resource', 'audience', 'scope'],
  );

  /** Login and consent without a person: `login_hint` (or the `loginAs` account) logs in, consent grants all asked. */
  async function interact(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params } = details;
    if (prompt.name === 'login') {
      const hint = typeof params.login_hint === 'string' ? params.login_hint : undefined;
      const sub = hint !== undefined && accounts[hint] ? hint : defaultLogin;
      if (!sub || !accounts[sub]) {
        await provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'no known account to log in' },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: sub } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (prompt.name === 'consent') {
      const accountId = details.session?.accountId;
      const clientId = params.client_id;
      if (!accountId || typeof clientId !== 'string')
        throw new Error('consent without a session or a client');
      const grant =
        (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
        new provider.Grant({ accountId, clientId });
      const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
      for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) {
        grant.addResourceScope(resource, scopes.join(' '));
      }
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    throw new Error(`unexpected prompt ${prompt.name}`);
  }

  const defaultScope = options.defaultScope ?? resourceScopes.join(' ');
  const oidc = provider.callback();
  handler = (req, res) => {
    if (defaultScope && req.method === 'GET' && req.url?.startsWith('/auth?')) {
      const url = new URL(req.url, issuer);
      if (!url.searchParams.get('scope')) {
        url.searchParams.set('scope', defaultScope);
        req.url = `${url.pathname}${url.search}`;
      }
    }
    if (req.method === 'GET' && req.url?.startsWith('/interaction/')) {
      interact(req, res).catch((error: unknown) => {
        serverErrors.push(error instanceof Error ? error : new Error(String(error)));
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('interaction failed');
      });
      return;
    }
    oidc(req, res);
  };

  async function sign(
    opts: ForeignMintOptions,
    key: SigningKey,
    iss: string,
    keyId: string,
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload: JWTPayload = {
      ...accountClaims(opts.sub),
      ...(opts.scope ? { scope: opts.scope } : {}),
      client_id: opts.clientId ?? 'harness-mint',
      ...opts.claims,
    };
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: keyId })
      .setJti(randomUUID())
      .setSubject(opts.sub)
      .setIssuer(iss)
      .setAudience(opts.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + (opts.expiresInSec ?? accessTokenTtl))
      .sign(key);
  }

  async function exchangeToken(request: TokenExchangeRequest) {
    const form = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: request.subjectToken,
      subject_token_type: request.subjectTokenType ?? ACCESS_TOKEN_TYPE,
    });
    if (request.resource) form.set('resource', request.resource);
    if (request.audience) form.set('audience', request.audience);
    if (request.scope) form.set('scope', request.scope);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (request.clientId !== undefined && request.clientSecret === undefined) {
      form.set('client_id', request.clientId);
    } else {
      const clientId = request.clientId ?? confidential.clientId;
      const clientSecret = request.clientSecret ?? confidential.clientSecret;
      if (request.clientId === undefined && confidential.authMethod === 'client_secret_post') {
        form.set('client_id', clientId);
        form.set('client_secret', clientSecret);
      } else {
        const basic = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`;
        headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
      }
    }
    const response = await fetch(`${issuer}/token`, { method: 'POST', headers, body: form });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    tokenEndpoint: `${issuer}/token`,
    authorizationEndpoint: `${issuer}/auth`,
    registrationEndpoint: `${issuer}/reg`,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    confidentialClient: confidential,
    mintToken: (opts) => sign(opts, signing.privateKey, issuer, kid),
    mintWithKey: (opts) => sign(opts, foreign.privateKey, opts.issuer ?? issuer, opts.kid ?? kid),
    loginAs: (sub) => {
      defaultLogin = sub;
    },
    exchangeToken,
    exchangeCount: () => exchanges.length,
    exchanges: () => exchanges,
    serverErrors: () => serverErrors,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---- the MCP SDK client side ----

export interface SdkOAuthFlowOptions {
  /** Where the authorization server sends the browser back; never listened on. */
  readonly redirectUrl?: string;
  /** Client metadata `scope` (the SDK prefers WWW-Authenticate, then the resource metadata's scopes). */
  readonly scope?: string;
  readonly clientName?: string;
  /** Bring your own provider to look at its tokens and authorization URLs afterwards. */
  readonly provider?: AutoLoginOAuthProvider;
}

/**
 * An in-memory `OAuthClientProvider` for a public client (dynamic registration, PKCE, no secret)
 * whose `redirectToAuthorization` plays the browser: it follows the authorization URL, keeping
 * cookies, until the authorization server redirects to `redirectUrl`, and keeps the `code`.
 * The user is named by adding `login_hint` to the authorization URL (see `startAuthServer`).
 */
export class AutoLoginOAuthProvider implements OAuthClientProvider {
  private info: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier: string | undefined;
  private expectedState: string | undefined;
  private discovery: OAuthDiscoveryState | undefined;
  private code: string | undefined;
  /** Every authorization URL the SDK sent the "browser" to (with `login_hint` added). */
  readonly authorizationUrls: URL[] = [];

  constructor(
    readonly sub: string,
    private readonly options: { redirectUrl?: string; scope?: string; clientName?: string } = {},
  ) {}

  get redirectUrl(): string {
    return this.options.redirectUrl ?? 'http://127.0.0.1/oauth-harness/callback';
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.options.clientName ?? 'oauth-harness',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...(this.options.scope ? { scope: this.options.scope } : {}),
    };
  }

  state(): string {
    this.expectedState = randomUUID();
    return this.expectedState;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.info;
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.info = info;
  }

  tokens(): OAuthTokens | undefined {
    return this.saved;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    if (!this.verifier) throw new Error('no code verifier saved');
    return this.verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'client') this.info = undefined;
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
    if (scope === 'all' || scope === 'verifier') this.verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    const url = new URL(authorizationUrl);
    url.searchParams.set('login_hint', this.sub);
    this.authorizationUrls.push(url);
    const back = await followToRedirect(url, this.redirectUrl);
    const error = back.searchParams.get('error');
    if (error) {
      throw new Error(`authorization failed: ${error} ${back.searchParams.get('error_description') ?? ''}`);
    }
    if (back.searchParams.get('state') !== (this.expectedState ?? null)) {
      throw new Error('authorization response state mismatch');
    }
    const code = back.searchParams.get('code');
    if (!code) throw new Error('authorization response without a code');
    this.code = code;
  }

  /** The code the last authorization produced (once). */
  takeCode(): string {
    const code = this.code;
    this.code = undefined;
    if (!code) throw new Error('no authorization code: the SDK never redirected to authorization');
    return code;
  }
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
}

/** Follows redirects (GET) from `start`, with a cookie jar, until one points at `redirectUrl`. */
async function followToRedirect(start: URL, redirectUrl: string): Promise<URL> {
  const jar = new Map<string, StoredCookie>();
  let url = start;
  for (let hop = 0; hop < 20; hop++) {
    const cookie = [...jar.values()]
      .filter(
        (c) =>
          url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const response = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const line of response.headers.getSetCookie()) storeCookie(jar, line);
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) {
      const text = (await response.text())
        .replace(/<[^>]*>/g, ' ')
        .replace(/\s+/g, ' ')
        .slice(0, 300);
      throw new Error(`authorization stopped at ${url.pathname} with ${response.status}: ${text}`);
    }
    await response.body?.cancel();
    const next = new URL(location, url);
    if (
      `${next.origin}${next.pathname}` === `${new URL(redirectUrl).origin}${new URL(redirectUrl).pathname}`
    ) {
      return next;
    }
    url = next;
  }
  throw new Error('authorization did not come back to the redirect URL within 20 redirects');
}

function storeCookie(jar: Map<string, StoredCookie>, line: string): void {
  const [pair = '', ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  let path = '/';
  let expired = value === '';
  for (const attribute of attributes) {
    const [key = '', raw = ''] = attribute.split('=');
    const k = key.trim().toLowerCase();
    const v = raw.trim();
    if (k === 'path' && v.startsWith('/')) path = v;
    if (k === 'max-age' && Number(v) <= 0) expired = true;
    if (k === 'expires' && Date.parse(v) <= Date.now()) expired = true;
  }
  const key = `${name} ${path}`;
  if (expired) jar.delete(key);
  else jar.set(key, { name, value, path });
}

/**
 * Connects a real SDK client to `mcpUrl` as `as.sub` the way the SDK intends: connect, catch
 * `UnauthorizedError` (the provider has meanwhile registered, sent the "browser" through
 * authorization and kept the code), `transport.finishAuth(code)`, connect again on a new transport.
 * Returns the connected client; the caller closes it.
 */
export async function runSdkOAuthFlow(
  mcpUrl: string,
  as: { sub: string },
  options: SdkOAuthFlowOptions = {},
): Promise<Client> {
  const provider =
    options.provider ??
    new AutoLoginOAuthProvider(as.sub, {
      ...(options.redirectUrl ? { redirectUrl: options.redirectUrl } : {}),
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options.clientName ? { clientName: options.clientName } : {}),
    });
  const client = new Client(
    { name: options.clientName ?? 'oauth-harness', version: '1.0.0' },
    { capabilities: {} },
  );
  const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  try {
    await client.connect(first);
    return client; // already authorized (a provider that had tokens)
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
  }
  await first.finishAuth(provider.takeCode());
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  return client;
}
