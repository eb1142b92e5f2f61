/**
 * The routing table: the one thing the control plane hands to the proxy (docs/design.md section 1).
 *
 * listeners (ports) → routes (already sorted by Gateway API precedence) → MCP backends → targets →
 * endpoints. A table is immutable once published: the proxy reads the current reference once per
 * request and uses that snapshot to the end. translate() produces everything but `version`.
 */

export type PrefixMode = 'Always' | 'Conditional' | 'Never';
export type FailureMode = 'FailClosed' | 'FailOpen';
export type SessionRouting = 'Stateful' | 'Stateless';
export type TargetProtocol = 'StreamableHTTP' | 'SSE';

export interface Endpoint {
  /** IP address or hostname to connect to. */
  readonly address: string;
  readonly port: number;
}

export interface McpTarget {
  /** Unique within its backend; the prefix clients see (`<target>_<tool>`). */
  readonly name: string;
  readonly protocol: TargetProtocol;
  /** Request path on the upstream (`/mcp` or `/sse` by default). */
  readonly path: string;
  /** Host header and fallback address: the Service DNS name or the static host. */
  readonly host: string;
  readonly port: number;
  /**
   * Ready endpoints to connect to, sorted. Empty means "connect to host:port" (a static target or a
   * Service without EndpointSlices, reached through its DNS name).
   */
  readonly endpoints: readonly Endpoint[];
  /** Where the target came from, for status and logs: `Service ns/name:port` or `static`. */
  readonly source: string;
}

export interface McpBackend {
  /** `<group>/<Kind>/<namespace>/<name>`: sessions are bound to it. */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly prefixMode: PrefixMode;
  readonly failureMode: FailureMode;
  readonly sessionRouting: SessionRouting;
  /** Sorted by name; names are unique (collisions are dropped and reported in status). */
  readonly targets: readonly McpTarget[];
}

/** What a matched route sends traffic to. */
export type RouteAction =
  | { readonly type: 'mcp'; readonly backend: McpBackend }
  /** The route is attached but its backend cannot serve: the client gets this status and message. */
  | { readonly type: 'error'; readonly status: 500 | 503; readonly message: string };

export interface HeaderMatch {
  readonly type: 'Exact' | 'RegularExpression';
  /** Lower-cased header name. */
  readonly name: string;
  readonly value: string;
}

export interface PathMatch {
  readonly type: 'Exact' | 'PathPrefix' | 'RegularExpression';
  readonly value: string;
}

/** Where a credential is read from the request (agentgateway's `location`). */
export type CredentialLocation =
  | { readonly header: string; readonly prefix: string }
  | { readonly cookie: string }
  | { readonly query: string };

export interface JwtProviderSpec {
  readonly issuer: string;
  /** Empty: any audience. */
  readonly audiences: readonly string[];
  readonly jwks: { readonly inline: string } | { readonly url: string; readonly cacheDurationMs: number };
}

/** JWT authentication of a route: `traffic.jwtAuthentication` or `backend.mcp.authentication`. */
export interface JwtAuthentication {
  /** Strict: a valid token is required. Optional: a present token must be valid. Permissive: never refuses. */
  readonly mode: 'Strict' | 'Optional' | 'Permissive';
  readonly location: CredentialLocation;
  readonly providers: readonly JwtProviderSpec[];
  /** Extra RFC 9728 metadata (keys in snake_case), served at /.well-known/oauth-protected-resource. */
  readonly resourceMetadata: Readonly<Record<string, unknown>>;
}

/** One API key as the table keeps it: its SHA-256, never the key itself. */
export interface ApiKeyEntry {
  /** `<namespace>/<secret>/<entry>`: names the caller (its principal) without revealing the key. */
  readonly id: string;
  /** Hex SHA-256 of the key. */
  readonly sha256: string;
  /** The entry's `metadata`, visible to rules as `apiKey`. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** `traffic.apiKeyAuthentication`: keys from Secrets. */
export interface ApiKeyAuthentication {
  readonly mode: 'Strict' | 'Optional' | 'Permissive';
  readonly location: CredentialLocation;
  readonly keys: readonly ApiKeyEntry[];
}

/** `backend.auth`: a header mcplane sets on every upstream request of the route. */
export interface UpstreamCredential {
  /** Lower-case header name. */
  readonly header: string;
  /** The whole value, prefix included. A secret: never logged. */
  readonly value: string;
}

/** `backend.auth.oauthTokenExchange`: each caller's token exchanged (RFC 8693) for the upstream's. */
export interface TokenExchange {
  /** The authorization server's token endpoint. */
  readonly url: string;
  readonly clientId?: string;
  /** The client secret (a secret: never logged). */
  readonly clientSecret?: string;
  readonly clientAuth: 'ClientSecretBasic' | 'ClientSecretPost';
  readonly audiences: readonly string[];
  readonly resources: readonly string[];
  readonly scopes: readonly string[];
  /** Where the exchanged token goes upstream. */
  readonly header: string;
  readonly prefix: string;
}

/** One authorization rule: every expression true makes it match (agentgateway's `matchExpressions`). */
export interface AuthorizationRule {
  readonly action: 'Allow' | 'Deny' | 'Require';
  readonly expressions: readonly string[];
  /** `<namespace>/<policy>`, for logs. */
  readonly policy: string;
}

export interface LocalRateLimit {
  readonly requests: number;
  readonly unitMs: number;
  readonly burst: number;
}

/** One descriptor of a global limit: a bucket per distinct value of its entries. */
export interface RateLimitDescriptor {
  readonly entries: readonly { readonly name: string; readonly expression: string }[];
  /** CEL giving `{"unit": "second"|"minute"|"hour"|"day", "requestsPerUnit": n}`. */
  readonly limitOverride: string;
}

/** `global`: buckets shared by every replica, counted by mcplane in Redis. */
export interface GlobalRateLimit {
  readonly domain: string;
  /** The Redis server: a Service's first ready endpoint, or its DNS name. */
  readonly redis: Endpoint;
  readonly failureMode: 'FailOpen' | 'FailClosed';
  readonly descriptors: readonly RateLimitDescriptor[];
}

/** A rate-limit policy: the first entry whose condition holds (or has none) applies. */
export interface RateLimitEntry {
  readonly condition?: string;
  readonly local: readonly LocalRateLimit[];
  readonly global: readonly GlobalRateLimit[];
}

export interface RateLimit {
  /** `<namespace>/<policy>`: buckets are per policy and route. */
  readonly policy: string;
  readonly entries: readonly RateLimitEntry[];
}

export interface CorsPolicy {
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly allowCredentials: boolean;
  readonly maxAgeSec?: number;
}

/**
 * Everything the AgentgatewayPolicies attached to a route (through its Gateway, listener, HTTPRoute
 * or backend) ask of its requests, merged by precedence. Absent when no policy applies.
 */
export interface RoutePolicy {
  /** `<namespace>/<policy>` of every policy that contributed, sorted. */
  readonly policies: readonly string[];
  readonly jwt?: JwtAuthentication;
  readonly apiKey?: ApiKeyAuthentication;
  readonly upstreamCredential?: UpstreamCredential;
  readonly tokenExchange?: TokenExchange;
  /** `traffic.authorization`: checked once per HTTP request (403 when refused). */
  readonly authorization: readonly AuthorizationRule[];
  /** `backend.mcp.authorization`: what each identity sees in lists and may call, get or read. */
  readonly mcpAuthorization: readonly AuthorizationRule[];
  readonly rateLimit?: RateLimit;
  readonly cors?: CorsPolicy;
}

export interface Route {
  /** `<namespace>/<httproute>/<rule index>/<match index>`: stable, used as the metrics label. */
  readonly id: string;
  /** `<namespace>/<httproute>`. */
  readonly routeName: string;
  /**
   * The hostname this entry answers for: an exact host, a `*.example.com` wildcard, or `*` for any.
   * A route with several hostnames appears once per hostname so the list can be sorted by precedence.
   */
  readonly hostname: string;
  readonly path: PathMatch;
  readonly headers: readonly HeaderMatch[];
  readonly queryParams: readonly HeaderMatch[];
  readonly method?: string;
  readonly action: RouteAction;
  readonly policy?: RoutePolicy;
}

export interface Listener {
  readonly port: number;
  /** `<namespace>/<gateway>/<listener name>` of every Gateway listener bound to this port. */
  readonly gatewayListeners: readonly string[];
  /** Sorted by Gateway API precedence: the proxy takes the first that matches. */
  readonly routes: readonly Route[];
}

export interface RoutingTable {
  /** Bumped by the publisher each time a different table is swapped in. */
  readonly version: number;
  /** Sorted by port. */
  readonly listeners: readonly Listener[];
}

/** What translate() returns as the table: everything but the version, which the publisher assigns. */
export type RoutingTableContent = Omit<RoutingTable, 'version'>;

export const EMPTY_TABLE: RoutingTable = Object.freeze({ version: 0, listeners: Object.freeze([]) });

/** Deep-freeze a value so a published table cannot be changed by accident. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
