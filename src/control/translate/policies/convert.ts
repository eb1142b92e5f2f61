/** From the validated spec (spec.ts) to the routing table's policy records (shared/table.ts). */
import type {
  AuthorizationRule,
  CredentialLocation,
  Endpoint,
  GlobalRateLimit,
  JwtAuthentication,
  JwtProviderSpec,
  LocalRateLimit,
  RateLimit,
} from '../../../shared/table.js';
import {
  type AuthorizationSpec,
  durationMs,
  type GlobalLimitSpec,
  type JwtAuthenticationSpec,
  type LocalLimitSpec,
  type McpAuthenticationSpec,
  type RateLimitSpec,
} from './spec.js';

/** agentgateway's default JWKS refresh: at least 5 minutes apart. */
const DEFAULT_JWKS_CACHE_MS = 5 * 60_000;
const UNIT_MS = { Seconds: 1_000, Minutes: 60_000, Hours: 3_600_000 } as const;
const BEARER: CredentialLocation = { header: 'authorization', prefix: 'Bearer ' };

/** `resourceMetadata` keys come in camelCase in YAML; RFC 9728 names them in snake_case. */
function snakeKeys(metadata: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) {
    out[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  }
  return out;
}

export function locationOf(spec: JwtAuthenticationSpec['location']): CredentialLocation {
  if (spec?.header) {
    const name = spec.header.name.toLowerCase();
    return { header: name, prefix: spec.header.prefix ?? (name === 'authorization' ? 'Bearer ' : '') };
  }
  if (spec?.cookie) return { cookie: spec.cookie.name };
  if (spec?.queryParameter) return { query: spec.queryParameter.name };
  return BEARER;
}

export function jwtFromTraffic(spec: JwtAuthenticationSpec): JwtAuthentication {
  const providers: JwtProviderSpec[] = spec.providers.map((p) => ({
    issuer: p.issuer,
    audiences: p.audiences ?? [],
    jwks: p.jwks.inline
      ? { inline: p.jwks.inline }
      : {
          url: p.jwks.remote!.url,
          cacheDurationMs: p.jwks.remote!.cacheDuration
            ? durationMs(p.jwks.remote!.cacheDuration)
            : DEFAULT_JWKS_CACHE_MS,
        },
  }));
  return {
    mode: spec.mode ?? 'Strict',
    location: locationOf(spec.location),
    providers,
    resourceMetadata: snakeKeys(spec.mcp?.resourceMetadata),
  };
}

export function jwtFromMcp(spec: McpAuthenticationSpec): JwtAuthentication {
  return {
    mode: spec.mode ?? 'Strict',
    location: BEARER,
    providers: [
      {
        issuer: spec.issuer,
        audiences: spec.audiences ?? [],
        jwks: {
          url: spec.jwks.url,
          cacheDurationMs: spec.jwks.cacheDuration
            ? durationMs(spec.jwks.cacheDuration)
            : DEFAULT_JWKS_CACHE_MS,
        },
      },
    ],
    resourceMetadata: snakeKeys(spec.resourceMetadata),
  };
}

export function authorizationRules(policy: string, spec: AuthorizationSpec | undefined): AuthorizationRule[] {
  if (!spec) return [];
  return [{ action: spec.action ?? 'Allow', expressions: spec.policy.matchExpressions, policy }];
}

function local(spec: LocalLimitSpec): LocalRateLimit {
  return { requests: spec.requests, unitMs: UNIT_MS[spec.unit], burst: spec.burst ?? 0 };
}

function global(
  spec: GlobalLimitSpec | undefined,
  redis: (spec: GlobalLimitSpec) => Endpoint,
): GlobalRateLimit[] {
  if (!spec) return [];
  return [
    {
      domain: spec.domain,
      redis: redis(spec),
      failureMode: spec.failureMode ?? 'FailOpen',
      descriptors: spec.descriptors.map((d) => ({
        entries: d.entries,
        limitOverride: d.limitOverride ?? '',
      })),
    },
  ];
}

/** `redis` finds the Redis server a global limit's backendRef names (validated before). */
export function rateLimitOf(
  policy: string,
  spec: RateLimitSpec,
  redis: (spec: GlobalLimitSpec) => Endpoint,
): RateLimit {
  const entries = spec.conditional
    ? spec.conditional.map((c) => ({
        ...(c.condition === undefined ? {} : { condition: c.condition }),
        local: (c.policy.local ?? []).map(local),
        global: global(c.policy.global, redis),
      }))
    : [{ local: (spec.local ?? []).map(local), global: global(spec.global, redis) }];
  return { policy, entries };
}
