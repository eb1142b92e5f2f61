/**
 * The shared target builder: a normalised BackendSpec → one McpBackend IR plus what status must say.
 *
 * Never fails silently: invalid names, duplicate names, selectors that match nothing and unknown
 * annotations are all kept as notes for the backend's status. An invalid selector or shape fails the
 * whole backend (routes to it answer 500 with the problem).
 */
import { compileSelector, type LabelMatcher, SelectorError } from '../../../shared/labels.js';
import { objectKey } from '../../../shared/object-key.js';
import type { LabelSelector, Service } from '../../../shared/resources.js';
import { Reason } from '../../../shared/status.js';
import type { McpBackend, McpTarget } from '../../../shared/table.js';
import type { Problem } from '../gateways.js';
import { compareStrings } from '../order.js';
import { formatSelector } from '../selector-text.js';
import { MCP_APP_PROTOCOL_LIST, mcpProtocolOf, selectServices } from '../services.js';
import type { World } from '../world.js';
import {
  defaultPath,
  serviceHost,
  serviceSource,
  serviceTarget,
  TARGET_NAME_ANNOTATION,
  unknownMcpAnnotations,
} from './service-target.js';
import { type BackendSpec, backendId, type TargetSpec } from './spec.js';

export interface BackendNotes {
  /** Selector entries (or backendRefs) that produced no target. */
  readonly unmatched: string[];
  readonly collisions: string[];
  readonly invalidNames: string[];
  readonly unknownAnnotations: string[];
}

export interface BuiltBackend {
  readonly spec: BackendSpec;
  /** Always present; has no targets when `failure` is set. */
  readonly backend: McpBackend;
  /** The backend is not accepted (InvalidSelector / TranslationError). */
  readonly failure?: Problem;
  readonly notes: BackendNotes;
}

interface Candidate {
  readonly target: McpTarget;
  /** Who claims the name, for messages: `Service ns/svc:port` or `static target <field>`. */
  readonly claimant: string;
}

const TARGET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isValidTargetName(name: string): boolean {
  return name.length <= 253 && TARGET_NAME.test(name);
}

function compile(selector: LabelSelector, field: string): LabelMatcher | Problem {
  try {
    return compileSelector(selector);
  } catch (error) {
    if (!(error instanceof SelectorError)) throw error;
    return { reason: Reason.InvalidSelector, message: `${field}: ${error.message}` };
  }
}

class Builder {
  readonly candidates: Candidate[] = [];
  readonly notes: BackendNotes = { unmatched: [], collisions: [], invalidNames: [], unknownAnnotations: [] };
  readonly #annotated = new Set<string>();

  constructor(
    readonly world: World,
    readonly spec: BackendSpec,
  ) {}

  get namespace(): string {
    return this.spec.metadata.namespace ?? '';
  }

  /** Returns a Problem when the whole backend must fail. */
  add(target: TargetSpec): Problem | undefined {
    if (target.type === 'selector') return this.#addSelector(target);
    if (target.type === 'serviceRef') return this.#addServiceRef(target);
    const protocol = target.protocol === 'SSE' ? 'SSE' : 'StreamableHTTP';
    this.candidates.push({
      claimant: `static target ${target.field}`,
      target: {
        name: target.name,
        protocol,
        path: target.path ?? defaultPath(protocol),
        host: target.host,
        port: target.port,
        endpoints: [],
        source: 'static',
      },
    });
    return undefined;
  }

  #noteAnnotations(service: Service): void {
    const key = objectKey(service.metadata.namespace, service.metadata.name);
    if (this.#annotated.has(key)) return;
    this.#annotated.add(key);
    for (const annotation of unknownMcpAnnotations(service)) {
      this.notes.unknownAnnotations.push(
        `Service ${service.metadata.namespace}/${service.metadata.name}: unknown annotation "${annotation}"`,
      );
    }
  }

  #addSelector(target: Extract<TargetSpec, { type: 'selector' }>): Problem | undefined {
    const services = compile(target.services ?? {}, `${target.field}.${target.servicesField}`);
    if ('reason' in services) return services;
    let namespaces: LabelMatcher | undefined;
    if (target.namespaces) {
      const compiled = compile(target.namespaces, `${target.field}.${target.namespacesField}`);
      if ('reason' in compiled) return compiled;
      namespaces = compiled;
    }
    const matched = selectServices(this.world, this.namespace, services, namespaces);
    let found = 0;
    for (const service of matched) {
      for (const port of service.spec.ports ?? []) {
        const protocol = mcpProtocolOf(port);
        if (!protocol) continue;
        found++;
        this.#noteAnnotations(service);
        const claimant = service.metadata.annotations?.[TARGET_NAME_ANNOTATION]
          ? `${serviceSource(service, port)} (annotation ${TARGET_NAME_ANNOTATION})`
          : serviceSource(service, port);
        this.candidates.push({ claimant, target: serviceTarget(this.world, service, port, protocol) });
      }
    }
    if (found === 0) {
      const scope = !target.namespaces
        ? `namespace "${this.namespace}"`
        : `namespaces matching ${target.namespacesField} ${formatSelector(target.namespaces)}`;
      const selector = `${target.servicesField} ${formatSelector(target.services)} in ${scope}`;
      this.notes.unmatched.push(
        matched.length === 0
          ? `${target.field}: no Service matches ${selector}`
          : `${target.field}: the ${matched.length} Service(s) matching ${selector} have no port with an MCP appProtocol (${MCP_APP_PROTOCOL_LIST})`,
      );
    }
    return undefined;
  }

  #addServiceRef(target: Extract<TargetSpec, { type: 'serviceRef' }>): Problem | undefined {
    const namespace = target.namespace ?? this.namespace;
    if (namespace !== this.namespace) {
      return {
        reason: Reason.TranslationError,
        message: `${target.field}.backendRef.namespace: "${namespace}" is not allowed; a backendRef names a Service in the backend's own namespace "${this.namespace}"`,
      };
    }
    const service = this.world.servicesByKey.get(objectKey(namespace, target.service));
    if (!service) {
      this.notes.unmatched.push(
        `${target.field}.backendRef: Service ${namespace}/${target.service} not found`,
      );
      return undefined;
    }
    this.#noteAnnotations(service);
    const port = service.spec.ports?.find((p) => p.port === target.port) ?? { port: target.port };
    const protocol = target.protocol === 'SSE' ? 'SSE' : 'StreamableHTTP';
    const base = serviceTarget(this.world, service, port, protocol);
    this.candidates.push({
      claimant: `static target ${target.field}`,
      target: {
        ...base,
        name: target.name,
        path: target.path ?? defaultPath(protocol),
        host: serviceHost(service, this.world.options.clusterDomain),
      },
    });
    return undefined;
  }

  /** Drop invalid and duplicate names (first claimant wins), sort by name. */
  finish(): McpTarget[] {
    const byName = new Map<string, Candidate[]>();
    for (const candidate of this.candidates) {
      const { name } = candidate.target;
      if (!isValidTargetName(name)) {
        this.notes.invalidNames.push(
          `${candidate.claimant}: "${name}" is not a valid target name (lower-case DNS-1123 subdomain such as "my-server"; "_" and "+" are reserved MCP delimiters)`,
        );
        continue;
      }
      const claimants = byName.get(name);
      // The same Service port picked by two selector entries is one target, not a collision.
      if (claimants?.some((c) => c.claimant === candidate.claimant)) continue;
      if (claimants) claimants.push(candidate);
      else byName.set(name, [candidate]);
    }
    for (const [name, claimants] of byName) {
      if (claimants.length < 2) continue;
      const [kept, ...dropped] = claimants.map((c) => c.claimant);
      this.notes.collisions.push(
        `target name "${name}" is claimed by ${kept} (kept) and ${dropped.join(', ')} (dropped)`,
      );
    }
    return [...byName.values()]
      .map((claimants) => claimants[0]!.target)
      .sort((a, b) => compareStrings(a.name, b.name));
  }
}

export function buildBackend(world: World, spec: BackendSpec): BuiltBackend {
  const { metadata } = spec;
  const builder = new Builder(world, spec);
  let failure: Problem | undefined = spec.problem
    ? { reason: Reason.TranslationError, message: spec.problem }
    : undefined;
  for (const target of spec.targets) {
    if (failure) break;
    failure = builder.add(target);
  }
  const targets = failure ? [] : builder.finish();
  const backend: McpBackend = {
    id: backendId(spec.group, spec.kind, metadata.namespace ?? '', metadata.name),
    namespace: metadata.namespace ?? '',
    name: metadata.name,
    prefixMode: spec.prefixMode,
    failureMode: spec.failureMode,
    sessionRouting: spec.sessionRouting,
    targets,
  };
  return { spec, backend, ...(failure ? { failure } : {}), notes: builder.notes };
}
