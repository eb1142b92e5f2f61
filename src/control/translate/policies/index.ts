/**
 * AgentgatewayPolicy step: validate each policy (the subset in spec.ts, CEL that compiles), resolve
 * its targetRefs, merge what applies to each route entry by precedence, and write the policy's
 * `status.ancestors[]`. Runs after routes (entries know their listeners, rule and backend).
 *
 * Precedence (agentgateway's): Gateway < listener (`sectionName`) < HTTPRoute < route rule
 * (`sectionName`) < backend. Single-valued fields (authentication, rate limit) come from the most
 * specific policy, the oldest on a tie, unless a less specific one says `strategy.inheritance:
 * Override`, in which case the least specific of those wins. Authorization rules from every level
 * are concatenated, so a more specific allow never cancels a less specific deny.
 */
import { compileCel } from '../../../shared/cel.js';
import { objectKey } from '../../../shared/object-key.js';
import {
  type AgentgatewayPolicy,
  type PolicyTargetRef,
  policyTargetRefSchema,
} from '../../../shared/resources.js';
import { type Condition, Reason, type ReasonName } from '../../../shared/status.js';
import type {
  ApiKeyAuthentication,
  AuthorizationRule,
  CorsPolicy,
  Endpoint,
  RateLimit,
  Route,
  RoutePolicy,
} from '../../../shared/table.js';
import { condition, type StatusBook } from '../conditions.js';
import { endpointsFor } from '../endpoints.js';
import { compareStrings } from '../order.js';
import type { RouteEntry } from '../precedence.js';
import type { World } from '../world.js';
import { authorizationRules, jwtFromMcp, jwtFromTraffic, locationOf, rateLimitOf } from './convert.js';
import { apiKeysOf, tokenExchangeOf, upstreamCredentialOf } from './secrets.js';
import { type GlobalLimitSpec, type PolicySpec, policySpecSchema, specProblems } from './spec.js';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const LEVEL = { gateway: 0, listener: 1, route: 2, rule: 3, backend: 4 } as const;

interface Attachment {
  readonly namespace: string;
  readonly level: number;
  /** Index of the policy in age order: the oldest wins a tie. */
  readonly age: number;
  readonly name: string;
  readonly spec: PolicySpec;
  readonly override: boolean;
}

type Resolved =
  | { ok: true; key: string; level: number }
  | { ok: false; reason: ReasonName; message: string }
  /** The target exists but belongs to another controller: no ancestor entry of ours. */
  | { ok: false; reason: 'not-ours' };

function resolveTarget(world: World, namespace: string, ref: PolicyTargetRef): Resolved {
  const key = objectKey(namespace, ref.name);
  const missing = (what: string): Resolved => ({
    ok: false,
    reason: Reason.TargetNotFound,
    message: `${what} ${namespace}/${ref.name} not found`,
  });
  if (ref.group === GATEWAY_GROUP && ref.kind === 'Gateway') {
    const gateway = world.gateways.find(
      (g) => g.metadata.namespace === namespace && g.metadata.name === ref.name,
    );
    if (!gateway) return missing('Gateway');
    if (!world.ourClasses.has(gateway.spec.gatewayClassName)) return { ok: false, reason: 'not-ours' };
    if (ref.sectionName === undefined) return { ok: true, key, level: LEVEL.gateway };
    if (!gateway.spec.listeners.some((l) => l.name === ref.sectionName))
      return missing(`listener ${ref.sectionName} of Gateway`);
    return { ok: true, key: `${key}/${ref.sectionName}`, level: LEVEL.listener };
  }
  if (ref.group === GATEWAY_GROUP && ref.kind === 'HTTPRoute') {
    const route = world.routes.find(
      (r) => r.metadata.namespace === namespace && r.metadata.name === ref.name,
    );
    if (!route) return missing('HTTPRoute');
    if (!routeIsOurs(world, route)) return { ok: false, reason: 'not-ours' };
    if (ref.sectionName === undefined) return { ok: true, key, level: LEVEL.route };
    if (!(route.spec.rules ?? []).some((r) => r.name === ref.sectionName))
      return missing(`rule ${ref.sectionName} of HTTPRoute`);
    return { ok: true, key: `${key}/${ref.sectionName}`, level: LEVEL.rule };
  }
  if (ref.group === 'agentgateway.dev' && ref.kind === 'AgentgatewayBackend') {
    if (!world.agentgatewayBackends.has(key)) return missing('AgentgatewayBackend');
    return { ok: true, key: `agentgateway.dev/AgentgatewayBackend/${key}`, level: LEVEL.backend };
  }
  if (ref.group === 'gateway.kgateway.dev' && ref.kind === 'Backend') {
    if (!world.kgatewayBackends.has(key)) return missing('Backend');
    return { ok: true, key: `gateway.kgateway.dev/Backend/${key}`, level: LEVEL.backend };
  }
  return {
    ok: false,
    reason: Reason.Unsupported,
    message: `targetRefs to ${ref.group || 'core'}/${ref.kind} are not supported by mcplane: target a Gateway, HTTPRoute, AgentgatewayBackend or Backend`,
  };
}

/** A route with a parentRef to one of our Gateways (attached or not: its policies concern us). */
function routeIsOurs(world: World, route: World['routes'][number]): boolean {
  const namespace = route.metadata.namespace ?? 'default';
  return (route.spec.parentRefs ?? []).some((parent) => {
    if ((parent.kind ?? 'Gateway') !== 'Gateway') return false;
    const gateway = world.gateways.find(
      (g) => g.metadata.namespace === (parent.namespace ?? namespace) && g.metadata.name === parent.name,
    );
    return gateway !== undefined && world.ourClasses.has(gateway.spec.gatewayClassName);
  });
}

/** Every CEL expression of a spec, with where it sits, for the compile check. */
function expressions(spec: PolicySpec): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  const rules = (path: string, a: { policy: { matchExpressions: string[] } } | undefined) => {
    for (const [i, e] of (a?.policy.matchExpressions ?? []).entries())
      found.push([`${path}.policy.matchExpressions[${i}]`, e]);
  };
  rules('spec.traffic.authorization', spec.traffic?.authorization);
  rules('spec.backend.mcp.authorization', spec.backend?.mcp?.authorization);
  const globals = (path: string, g: GlobalLimitSpec | undefined) => {
    for (const [d, descriptor] of (g?.descriptors ?? []).entries()) {
      for (const [e, entry] of descriptor.entries.entries())
        found.push([`${path}.descriptors[${d}].entries[${e}].expression`, entry.expression]);
      if (descriptor.limitOverride !== undefined)
        found.push([`${path}.descriptors[${d}].limitOverride`, descriptor.limitOverride]);
    }
  };
  globals('spec.traffic.rateLimit.global', spec.traffic?.rateLimit?.global);
  spec.traffic?.rateLimit?.conditional?.forEach((c, i) => {
    globals(`spec.traffic.rateLimit.conditional[${i}].policy.global`, c.policy.global);
    if (c.condition !== undefined)
      found.push([`spec.traffic.rateLimit.conditional[${i}].condition`, c.condition]);
  });
  return found;
}

function celProblems(spec: PolicySpec): string[] {
  const problems: string[] = [];
  for (const [path, source] of expressions(spec)) {
    const compiled = compileCel(source);
    if (!compiled.ok) problems.push(`${path}: invalid CEL ${JSON.stringify(source)}: ${compiled.error}`);
  }
  return problems;
}

/** Every global limit of a spec, with where it sits. */
function globalLimits(spec: PolicySpec): Array<[string, GlobalLimitSpec]> {
  const found: Array<[string, GlobalLimitSpec]> = [];
  const rateLimit = spec.traffic?.rateLimit;
  if (rateLimit?.global) found.push(['spec.traffic.rateLimit.global', rateLimit.global]);
  rateLimit?.conditional?.forEach((c, i) => {
    if (c.policy.global)
      found.push([`spec.traffic.rateLimit.conditional[${i}].policy.global`, c.policy.global]);
  });
  return found;
}

/** The Redis a global limit counts in: its backendRef Service's first ready endpoint, or its DNS name. */
function redisOf(world: World, namespace: string, spec: GlobalLimitSpec): Endpoint | string {
  const ref = spec.backendRef;
  if (!ref) {
    return spec.url !== undefined
      ? 'url (an external rate-limit service) is not supported: mcplane counts global limits itself, in Redis; set backendRef to the Redis Service'
      : 'backendRef to the Redis Service is required';
  }
  const ns = ref.namespace ?? namespace;
  const service = world.servicesByKey.get(objectKey(ns, ref.name));
  if (!service) return `backendRef: Redis Service ${ns}/${ref.name} not found`;
  const ports = service.spec.ports ?? [];
  const port = ref.port === undefined ? ports[0] : ports.find((p) => p.port === ref.port);
  if (!port) return `backendRef: Service ${ns}/${ref.name} has no port ${ref.port ?? ''}`.trim();
  const ready = endpointsFor(world, service, port)[0];
  return ready ?? { address: `${ref.name}.${ns}.svc.${world.options.clusterDomain}`, port: port.port };
}

function globalProblems(world: World, namespace: string, spec: PolicySpec): string[] {
  const problems: string[] = [];
  for (const [path, limit] of globalLimits(spec)) {
    const redis = redisOf(world, namespace, limit);
    if (typeof redis === 'string') problems.push(`${path}: ${redis}`);
    limit.descriptors.forEach((d, i) => {
      if (d.limitOverride === undefined)
        problems.push(
          `${path}.descriptors[${i}].limitOverride is required: mcplane counts global limits itself and needs the budget, e.g. '{"unit": "minute", "requestsPerUnit": 5}'`,
        );
    });
  }
  return problems;
}

function secretProblems(world: World, namespace: string, spec: PolicySpec): string[] {
  const problems: string[] = [];
  const apiKey = spec.traffic?.apiKeyAuthentication;
  if (apiKey) {
    const keys = apiKeysOf(world, namespace, apiKey);
    if (typeof keys === 'string') problems.push(`spec.traffic.apiKeyAuthentication: ${keys}`);
  }
  const auth = spec.backend?.auth;
  if (auth) {
    const credential = auth.oauthTokenExchange
      ? tokenExchangeOf(world, namespace, auth)
      : upstreamCredentialOf(world, namespace, auth);
    if (typeof credential === 'string') problems.push(`spec.backend.auth: ${credential}`);
  }
  return problems;
}

interface Checked {
  readonly policy: AgentgatewayPolicy;
  readonly name: string;
  readonly spec?: PolicySpec;
  readonly problem?: { reason: ReasonName; message: string };
}

function check(world: World, policy: AgentgatewayPolicy): Checked {
  const name = `${policy.metadata.namespace}/${policy.metadata.name}`;
  const parsed = policySpecSchema.safeParse(policy.spec);
  if (!parsed.success) {
    const problems = specProblems(parsed.error);
    const unsupported = parsed.error.issues.some((i) => i.code === 'unrecognized_keys');
    return {
      policy,
      name,
      problem: { reason: unsupported ? Reason.Unsupported : Reason.Invalid, message: problems.join('; ') },
    };
  }
  const namespace = policy.metadata.namespace ?? 'default';
  const problems = [
    ...celProblems(parsed.data),
    ...globalProblems(world, namespace, parsed.data),
    ...secretProblems(world, namespace, parsed.data),
  ];
  if (problems.length > 0)
    return { policy, name, problem: { reason: Reason.Invalid, message: problems.join('; ') } };
  return { policy, name, spec: parsed.data };
}

function ancestorStatus(
  ref: PolicyTargetRef,
  namespace: string,
  controllerName: string,
  accepted: Condition,
): Record<string, unknown> {
  return {
    ancestorRef: {
      group: ref.group,
      kind: ref.kind,
      namespace,
      name: ref.name,
      ...(ref.sectionName === undefined ? {} : { sectionName: ref.sectionName }),
    },
    controllerName,
    conditions: [accepted],
  };
}

/** Attachments by target key, each list in age order. */
function attachAll(world: World, book: StatusBook): Map<string, Attachment[]> {
  const byKey = new Map<string, Attachment[]>();
  world.policies.forEach((policy, age) => {
    const checked = check(world, policy);
    const namespace = policy.metadata.namespace ?? 'default';
    const generation = policy.metadata.generation;
    const refs = Array.isArray(policy.spec.targetRefs)
      ? (policy.spec.targetRefs as unknown[]).flatMap((r) => {
          const parsed = policyTargetRefSchema.safeParse(r);
          return parsed.success ? [parsed.data] : [];
        })
      : [];
    const ancestors = refs.slice(0, 16).flatMap((ref) => {
      const resolved = resolveTarget(world, namespace, ref);
      if (!resolved.ok && resolved.reason === 'not-ours') return [];
      if (checked.problem) {
        const { reason, message } = checked.problem;
        return ancestorStatus(
          ref,
          namespace,
          world.options.controllerName,
          condition('Accepted', false, reason, message, generation),
        );
      }
      if (!resolved.ok) {
        return ancestorStatus(
          ref,
          namespace,
          world.options.controllerName,
          condition('Accepted', false, resolved.reason, resolved.message, generation),
        );
      }
      const list = byKey.get(resolved.key) ?? [];
      list.push({
        namespace,
        level: resolved.level,
        age,
        name: checked.name,
        spec: checked.spec!,
        override: checked.spec!.strategy?.inheritance === 'Override',
      });
      byKey.set(resolved.key, list);
      return ancestorStatus(
        ref,
        namespace,
        world.options.controllerName,
        condition('Accepted', true, Reason.Accepted, 'Policy accepted', generation),
      );
    });
    // A policy only about other controllers' objects gets no status from us.
    if (ancestors.length > 0) book.set('AgentgatewayPolicy', policy.metadata, { ancestors });
  });
  return byKey;
}

/** The attachments that reach one route entry, least specific first, then oldest first. */
function attachmentsOf(entry: RouteEntry, byKey: ReadonlyMap<string, Attachment[]>): Attachment[] {
  const keys = new Set<string>();
  for (const listener of entry.listeners) {
    keys.add(listener.split('/').slice(0, 2).join('/'));
    keys.add(listener);
  }
  keys.add(entry.route.routeName);
  if (entry.ruleName !== undefined) keys.add(`${entry.route.routeName}/${entry.ruleName}`);
  if (entry.route.action.type === 'mcp') keys.add(entry.route.action.backend.id);
  const found: Attachment[] = [];
  for (const key of keys) found.push(...(byKey.get(key) ?? []));
  return found.sort((a, b) => a.level - b.level || a.age - b.age);
}

/** The winner among attachments that set a single-valued field (see the file comment). */
function pick<T>(
  attachments: readonly Attachment[],
  get: (a: Attachment) => T | undefined,
): Attachment | undefined {
  const setting = attachments.filter((a) => get(a) !== undefined);
  const override = setting.find((a) => a.override);
  if (override) return override;
  let best: Attachment | undefined;
  for (const a of setting) if (!best || a.level > best.level) best = a;
  return best;
}

function effectivePolicy(world: World, attachments: readonly Attachment[]): RoutePolicy | undefined {
  if (attachments.length === 0) return undefined;
  const traffic = pick(attachments, (a) => a.spec.traffic?.jwtAuthentication);
  const mcp = pick(attachments, (a) => a.spec.backend?.mcp?.authentication);
  // The backend's MCP authentication is the more specific of the two when both apply.
  const jwt =
    mcp && (!traffic || mcp.level >= traffic.level)
      ? jwtFromMcp(mcp.spec.backend!.mcp!.authentication!)
      : traffic
        ? jwtFromTraffic(traffic.spec.traffic!.jwtAuthentication!)
        : undefined;
  const keyed = pick(attachments, (a) => a.spec.traffic?.apiKeyAuthentication);
  const apiKey = keyed ? apiKeyAuthentication(world, keyed) : undefined;
  const credentialed = pick(attachments, (a) => a.spec.backend?.auth);
  const auth = credentialed?.spec.backend?.auth;
  const credential =
    credentialed && auth && !auth.oauthTokenExchange
      ? upstreamCredentialOf(world, credentialed.namespace, auth)
      : undefined;
  const exchange =
    credentialed && auth?.oauthTokenExchange
      ? tokenExchangeOf(world, credentialed.namespace, auth)
      : undefined;
  const corsOf = pick(attachments, (a) => a.spec.traffic?.cors);
  const corsSpec = corsOf?.spec.traffic?.cors;
  const cors: CorsPolicy | undefined = corsSpec
    ? {
        allowOrigins: corsSpec.allowOrigins ?? [],
        allowMethods: corsSpec.allowMethods ?? [],
        allowHeaders: corsSpec.allowHeaders ?? [],
        exposeHeaders: corsSpec.exposeHeaders ?? [],
        allowCredentials: corsSpec.allowCredentials ?? false,
        ...(corsSpec.maxAge === undefined ? {} : { maxAgeSec: corsSpec.maxAge }),
      }
    : undefined;
  const limiter = pick(attachments, (a) => a.spec.traffic?.rateLimit);
  const rateLimit: RateLimit | undefined = limiter
    ? rateLimitOf(limiter.name, limiter.spec.traffic!.rateLimit!, (g) => {
        const redis = redisOf(world, limiter.namespace, g);
        // Checked when the policy was: a string (a problem) never reaches here.
        return typeof redis === 'string' ? { address: '', port: 0 } : redis;
      })
    : undefined;
  const authorization: AuthorizationRule[] = [];
  const mcpAuthorization: AuthorizationRule[] = [];
  for (const a of attachments) {
    authorization.push(...authorizationRules(a.name, a.spec.traffic?.authorization));
    mcpAuthorization.push(...authorizationRules(a.name, a.spec.backend?.mcp?.authorization));
  }
  const contributing = new Set<string>();
  for (const a of [traffic, mcp, limiter, keyed, credentialed, corsOf]) if (a) contributing.add(a.name);
  for (const rule of [...authorization, ...mcpAuthorization]) contributing.add(rule.policy);
  if (contributing.size === 0) return undefined;
  return {
    policies: [...contributing].sort(compareStrings),
    ...(jwt ? { jwt } : {}),
    ...(apiKey ? { apiKey } : {}),
    // Checked with the policy: a problem (a string) never reaches here.
    ...(credential && typeof credential !== 'string' ? { upstreamCredential: credential } : {}),
    ...(exchange && typeof exchange !== 'string' ? { tokenExchange: exchange } : {}),
    authorization,
    mcpAuthorization,
    ...(rateLimit ? { rateLimit } : {}),
    ...(cors ? { cors } : {}),
  };
}

function apiKeyAuthentication(world: World, a: Attachment): ApiKeyAuthentication | undefined {
  const spec = a.spec.traffic!.apiKeyAuthentication!;
  const keys = apiKeysOf(world, a.namespace, spec);
  if (typeof keys === 'string') return undefined; // checked with the policy
  return { mode: spec.mode ?? 'Strict', location: locationOf(spec.location), keys };
}

/** Validate policies, write their status, and return the entries with their effective policy. */
export function attachPolicies(
  world: World,
  entriesByPort: ReadonlyMap<number, readonly RouteEntry[]>,
  book: StatusBook,
): Map<number, RouteEntry[]> {
  const byKey = attachAll(world, book);
  const out = new Map<number, RouteEntry[]>();
  for (const [port, entries] of entriesByPort) {
    out.set(
      port,
      entries.map((entry) => {
        const policy = byKey.size === 0 ? undefined : effectivePolicy(world, attachmentsOf(entry, byKey));
        if (!policy) return entry;
        const route: Route = { ...entry.route, policy };
        return { ...entry, route };
      }),
    );
  }
  return out;
}
