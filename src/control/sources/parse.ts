/**
 * The boundary where outside JSON becomes a typed resource: every source passes objects through here.
 */
import type { z } from 'zod';
import { KINDS, type KindName, kindFor, type ResourceByKind } from '../../shared/resources.js';

export type ParsedResource = { [K in KindName]: { kind: K; object: ResourceByKind[K] } }[KindName];

export type ParseResult =
  | { ok: true; resource: ParsedResource }
  /** `kind` is undefined when the object is not a kind mcplane reads (the caller decides if that matters). */
  | { ok: false; kind?: KindName; id: string; problems: string[] };

/** Describe a raw object for error messages: `Kind namespace/name`. */
export function describeRaw(raw: unknown): string {
  const obj = (raw ?? {}) as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  const kind = typeof obj.kind === 'string' ? obj.kind : '<no kind>';
  const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '<no name>';
  const ns = typeof obj.metadata?.namespace === 'string' ? `${obj.metadata.namespace}/` : '';
  return `${kind} ${ns}${name}`;
}

/** Turn zod issues into `field.path: message` lines. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
}

/**
 * Validate one raw object. `defaultNamespace` fills in a missing namespace for namespaced kinds (as
 * `kubectl apply` does for files).
 */
export function parseResource(raw: unknown, defaultNamespace = 'default'): ParseResult {
  const obj = (raw ?? {}) as { apiVersion?: unknown; kind?: unknown; metadata?: Record<string, unknown> };
  const id = describeRaw(raw);
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
    return { ok: false, id, problems: ['apiVersion and kind are required'] };
  }
  const kind = kindFor(obj.apiVersion, obj.kind);
  if (!kind)
    return { ok: false, id, problems: [`${obj.apiVersion} ${obj.kind} is not a kind mcplane reads`] };
  const info = KINDS[kind];
  let input: unknown = raw;
  if (
    info.namespaced &&
    obj.metadata &&
    typeof obj.metadata === 'object' &&
    obj.metadata.namespace === undefined
  ) {
    input = { ...obj, metadata: { ...obj.metadata, namespace: defaultNamespace } };
  }
  const result = (info.schema as z.ZodType<ResourceByKind[typeof kind]>).safeParse(input);
  if (!result.success) return { ok: false, kind, id, problems: formatIssues(result.error) };
  return { ok: true, resource: { kind, object: result.data } as ParsedResource };
}
