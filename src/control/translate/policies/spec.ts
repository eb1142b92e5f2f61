/**
 * The part of `AgentgatewayPolicy.spec` mcplane implements, as a strict schema: any other field is
 * an `unrecognized_keys` issue with its path, which the policy's status reports (the policy is then
 * not applied at all, never half-applied). Semantics follow agentgateway's CRD descriptions.
 */
import { z } from 'zod';
import { policyTargetRefSchema } from '../../../shared/resources.js';

const mode = z.enum(['Strict', 'Optional', 'Permissive']);

const location = z
  .strictObject({
    header: z.strictObject({ name: z.string().min(1), prefix: z.string().optional() }).optional(),
    cookie: z.strictObject({ name: z.string().min(1) }).optional(),
    queryParameter: z.strictObject({ name: z.string().min(1) }).optional(),
  })
  .refine((l) => [l.header, l.cookie, l.queryParameter].filter(Boolean).length === 1, {
    message: 'set exactly one of header, cookie, queryParameter',
  });

const duration = z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, 'a duration such as 5m, 1h or 30s');

const provider = z.strictObject({
  issuer: z.string().min(1),
  audiences: z.array(z.string().min(1)).max(64).optional(),
  jwks: z
    .strictObject({
      inline: z.string().min(1).optional(),
      remote: z.strictObject({ url: z.url(), cacheDuration: duration.optional() }).optional(),
    })
    .refine((j) => (j.inline === undefined) !== (j.remote === undefined), {
      message: 'set exactly one of inline, remote',
    }),
});

const metadata = z.record(z.string(), z.unknown());

const jwtAuthentication = z.strictObject({
  mode: mode.optional(),
  location: location.optional(),
  providers: z.array(provider).min(1).max(16),
  mcp: z.strictObject({ resourceMetadata: metadata.optional() }).optional(),
});

const authorization = z.strictObject({
  action: z.enum(['Allow', 'Deny', 'Require']).optional(),
  policy: z.strictObject({ matchExpressions: z.array(z.string().min(1)).min(1).max(64) }),
});

const localLimit = z.strictObject({
  requests: z.number().int().min(1),
  unit: z.enum(['Seconds', 'Minutes', 'Hours']),
  burst: z.number().int().min(0).optional(),
});

/**
 * agentgateway sends descriptors to an external rate-limit service; mcplane counts them itself in
 * the Redis that `backendRef` names, so each descriptor needs its budget in `limitOverride`.
 */
const descriptor = z.strictObject({
  entries: z
    .array(z.strictObject({ name: z.string().min(1), expression: z.string().min(1) }))
    .min(1)
    .max(8),
  limitOverride: z.string().min(1).optional(),
  unit: z.literal('Requests').optional(),
});

const globalLimit = z.strictObject({
  domain: z.string().min(1),
  backendRef: z
    .strictObject({
      group: z.literal('').optional(),
      kind: z.literal('Service').optional(),
      name: z.string().min(1),
      namespace: z.string().min(1).optional(),
      port: z.number().int().min(1).max(65535).optional(),
    })
    .optional(),
  url: z.string().optional(),
  failureMode: z.enum(['FailOpen', 'FailClosed']).optional(),
  descriptors: z.array(descriptor).min(1).max(16),
});

const limits = z
  .strictObject({ local: z.array(localLimit).min(1).max(8).optional(), global: globalLimit.optional() })
  .refine((l) => l.local !== undefined || l.global !== undefined, { message: 'set local, global or both' });

const rateLimit = z
  .strictObject({
    local: z.array(localLimit).min(1).max(8).optional(),
    global: globalLimit.optional(),
    conditional: z
      .array(z.strictObject({ condition: z.string().min(1).optional(), policy: limits }))
      .min(1)
      .max(32)
      .optional(),
  })
  .refine((r) => (r.local !== undefined || r.global !== undefined) !== (r.conditional !== undefined), {
    message: 'set conditional, or local and/or global',
  });

const secretRef = z.strictObject({
  group: z.literal('').optional(),
  kind: z.literal('Secret').optional(),
  name: z.string().min(1),
  key: z.string().min(1).optional(),
});

const apiKeyAuthentication = z
  .strictObject({
    mode: mode.optional(),
    location: location.optional(),
    secretRef: secretRef.omit({ key: true }).optional(),
    secretSelector: z.strictObject({ matchLabels: z.record(z.string(), z.string()) }).optional(),
  })
  .refine((a) => (a.secretRef === undefined) !== (a.secretSelector === undefined), {
    message: 'set exactly one of secretRef, secretSelector',
  });

/** RFC 8693: the caller's validated token exchanged for one meant for the upstream. */
const tokenExchange = z.strictObject({
  url: z.url(),
  clientAuth: z
    .strictObject({
      clientId: z.string().min(1),
      method: z.enum(['ClientSecretBasic', 'ClientSecretPost']).optional(),
      secretRef: secretRef.optional(),
    })
    .optional(),
  grantType: z.literal('TokenExchange').optional(),
  audiences: z.array(z.string().min(1)).max(16).optional(),
  resources: z.array(z.string().min(1)).max(16).optional(),
  scopes: z.array(z.string().min(1)).max(64).optional(),
});

/** Credentials mcplane adds to upstream requests (never the client's own). */
const backendAuth = z
  .strictObject({
    key: z.string().min(1).optional(),
    secretRef: secretRef.optional(),
    oauthTokenExchange: tokenExchange.optional(),
    location: z
      .strictObject({ header: z.strictObject({ name: z.string().min(1), prefix: z.string().optional() }) })
      .optional(),
  })
  .refine((a) => [a.key, a.secretRef, a.oauthTokenExchange].filter((x) => x !== undefined).length === 1, {
    message: 'set exactly one of key, secretRef, oauthTokenExchange',
  });

const mcpAuthentication = z.strictObject({
  issuer: z.string().min(1),
  audiences: z.array(z.string().min(1)).max(64).optional(),
  jwks: z.strictObject({ url: z.url(), cacheDuration: duration.optional() }),
  mode: mode.optional(),
  resourceMetadata: metadata.optional(),
});

const star = (list: string[] | undefined) => list === undefined || !list.includes('*') || list.length === 1;
const cors = z
  .strictObject({
    allowOrigins: z.array(z.string().min(1)).max(64).optional(),
    allowMethods: z.array(z.string().min(1)).max(16).optional(),
    allowHeaders: z.array(z.string().min(1)).max(64).optional(),
    exposeHeaders: z.array(z.string().min(1)).max(64).optional(),
    allowCredentials: z.boolean().optional(),
    maxAge: z.number().int().min(0).max(86_400).optional(),
  })
  .refine((c) => star(c.allowOrigins) && star(c.allowMethods) && star(c.allowHeaders), {
    message: '"*" must be the only entry of its list',
  });

export const policySpecSchema = z.strictObject({
  targetRefs: z.array(policyTargetRefSchema).min(1).max(16),
  strategy: z.strictObject({ inheritance: z.enum(['Default', 'Override']).optional() }).optional(),
  traffic: z
    .strictObject({
      phase: z.literal('PostRouting').optional(),
      jwtAuthentication: jwtAuthentication.optional(),
      apiKeyAuthentication: apiKeyAuthentication.optional(),
      authorization: authorization.optional(),
      rateLimit: rateLimit.optional(),
      cors: cors.optional(),
    })
    .optional(),
  backend: z
    .strictObject({
      auth: backendAuth.optional(),
      mcp: z
        .strictObject({
          authorization: authorization.optional(),
          authentication: mcpAuthentication.optional(),
        })
        .optional(),
    })
    .optional(),
});
export type PolicySpec = z.infer<typeof policySpecSchema>;
export type JwtAuthenticationSpec = z.infer<typeof jwtAuthentication>;
export type McpAuthenticationSpec = z.infer<typeof mcpAuthentication>;
export type AuthorizationSpec = z.infer<typeof authorization>;
export type RateLimitSpec = z.infer<typeof rateLimit>;
export type LocalLimitSpec = z.infer<typeof localLimit>;
export type GlobalLimitSpec = z.infer<typeof globalLimit>;
export type ApiKeyAuthenticationSpec = z.infer<typeof apiKeyAuthentication>;
export type BackendAuthSpec = z.infer<typeof backendAuth>;

/** `5m`, `1h30m`, `250ms` → milliseconds. */
export function durationMs(text: string): number {
  let total = 0;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    const n = Number(value);
    total += unit === 'ms' ? n : unit === 's' ? n * 1_000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  }
  return total;
}

/** zod's issues as `spec.<path>: <problem>` lines, unknown fields named as "not supported". */
export function specProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = ['spec', ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys
        .map((k) => `${path}.${k} is not supported by mcplane (the policy is not applied)`)
        .join('; ');
    }
    return `${path}: ${issue.message}`;
  });
}
