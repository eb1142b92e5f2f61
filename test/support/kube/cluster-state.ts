/**
 * The API server's storage: objects per kind, one global resourceVersion counter (like etcd), and a
 * per-kind event history with a retention window. Write semantics follow the real API server: server-set
 * metadata, optimistic concurrency, status subresource split, generation bumps on spec changes only.
 */
import { randomUUID } from 'node:crypto';
import { apiVersionOf, type FakeKind } from './kinds.js';
import { mergePatch } from './merge-patch.js';
import { ApiError, isObject, type JsonObject } from './status.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface StoredEvent {
  readonly type: EventType;
  readonly object: JsonObject;
  /** The state before a MODIFIED, for selector transitions (a watch sees ADDED/DELETED). */
  readonly previous?: JsonObject;
  readonly rv: number;
}

export class KindState {
  readonly objects = new Map<string, JsonObject>();
  history: StoredEvent[] = [];
  /** A watch from an RV below this is too old (410): the events after it are no longer all kept. */
  floor = 0;
  installed = true;
}

export interface WriteOptions {
  /** A request through the HTTP API (true) or the test's programmatic apply (false: status kept, no RV checks). */
  viaApi: boolean;
  subresource?: string;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function metaOf(obj: JsonObject): JsonObject {
  return isObject(obj.metadata) ? obj.metadata : {};
}

/** JSON with sorted keys, so equal objects compare equal whatever their key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

function specOf(obj: JsonObject): string {
  const { metadata: _m, status: _s, ...rest } = obj;
  return canonical(rest);
}

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

function validate(kind: FakeKind, obj: JsonObject): void {
  if (kind.kind !== 'Lease' || !isObject(obj.spec)) return;
  for (const field of ['acquireTime', 'renewTime']) {
    const value = obj.spec[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || !MICRO_TIME.test(value)) {
      throw new ApiError(
        400,
        `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(value)} as ` +
          `"2006-01-02T15:04:05.000000Z07:00": cannot parse spec.${field} (MicroTime needs exactly 6 fractional digits)`,
        'BadRequest',
      );
    }
  }
}

export class ClusterState {
  rv = 0;
  readonly #kinds = new Map<string, KindState>();
  readonly #onEvent: (kind: FakeKind, event: StoredEvent) => void;

  constructor(
    private readonly historyLimit: number,
    onEvent: (kind: FakeKind, event: StoredEvent) => void,
  ) {
    this.#onEvent = onEvent;
  }

  state(kind: FakeKind): KindState {
    let state = this.#kinds.get(kind.kind);
    if (!state) {
      state = new KindState();
      this.#kinds.set(kind.kind, state);
    }
    return state;
  }

  get(kind: FakeKind, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.state(kind).objects.get(objectKey(namespace, name));
  }

  mustGet(kind: FakeKind, namespace: string | undefined, name: string): JsonObject {
    const obj = this.get(kind, namespace, name);
    if (!obj) throw notFound(kind, name);
    return obj;
  }

  create(kind: FakeKind, namespace: string | undefined, body: JsonObject, opts: WriteOptions): JsonObject {
    const meta = metaOf(body);
    const name = meta.name;
    if (typeof name !== 'string' || !name) {
      throw new ApiError(422, `${kind.kind} is invalid: metadata.name: Required value: name is required`);
    }
    const ns = kind.namespaced ? namespaceFor(namespace, meta) : undefined;
    const state = this.state(kind);
    if (state.objects.has(objectKey(ns, name))) {
      throw new ApiError(
        409,
        `${kind.plural} "${name}" already exists`,
        'AlreadyExists',
        details(kind, name),
      );
    }
    validate(kind, body);
    const { status, ...rest } = body;
    const obj: JsonObject = {
      ...rest,
      apiVersion: apiVersionOf(kind),
      kind: kind.kind,
      metadata: {
        ...meta,
        ...(ns ? { namespace: ns } : {}),
        uid: randomUUID(),
        resourceVersion: String(++this.rv),
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    };
    if (status !== undefined && (!opts.viaApi || !kind.statusSubresource)) obj.status = status;
    return this.#commit(kind, 'ADDED', obj, undefined);
  }

  replace(
    kind: FakeKind,
    namespace: string | undefined,
    name: string,
    body: JsonObject,
    opts: WriteOptions,
  ): JsonObject {
    const current = this.mustGet(kind, namespace, name);
    const meta = metaOf(body);
    if (meta.name !== undefined && meta.name !== name) {
      throw new ApiError(
        400,
        `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
      );
    }
    if (opts.viaApi) checkPreconditions(kind, current, meta, true);
    return this.#update(kind, current, body, opts);
  }

  patch(
    kind: FakeKind,
    namespace: string | undefined,
    name: string,
    patch: JsonObject,
    opts: WriteOptions,
  ): JsonObject {
    const current = this.mustGet(kind, namespace, name);
    checkPreconditions(kind, current, metaOf(patch), false);
    const merged = mergePatch(current, patch);
    if (!isObject(merged)) throw new ApiError(400, 'the patch must be a JSON object');
    return this.#update(kind, current, merged, opts);
  }

  delete(kind: FakeKind, namespace: string | undefined, name: string): JsonObject {
    const current = this.mustGet(kind, namespace, name);
    const gone = { ...current, metadata: { ...metaOf(current), resourceVersion: String(++this.rv) } };
    return this.#commit(kind, 'DELETED', gone, current);
  }

  /** Drop every event so far: a watch must start at the current RV or later. */
  compact(kind: FakeKind): void {
    const state = this.state(kind);
    state.history = [];
    state.floor = this.rv;
  }

  #update(kind: FakeKind, current: JsonObject, body: JsonObject, opts: WriteOptions): JsonObject {
    const currentMeta = metaOf(current);
    let next: JsonObject;
    if (opts.subresource === 'status') {
      next = { ...current };
      if (body.status === undefined) delete next.status;
      else next.status = body.status;
    } else {
      validate(kind, body);
      const bodyMeta = metaOf(body);
      next = { ...body, apiVersion: apiVersionOf(kind), kind: kind.kind };
      next.metadata = {
        ...bodyMeta,
        name: currentMeta.name!,
        ...(currentMeta.namespace ? { namespace: currentMeta.namespace } : {}),
        uid: currentMeta.uid!,
        creationTimestamp: currentMeta.creationTimestamp!,
        generation: currentMeta.generation!,
      };
      // Main-resource writes through the API cannot change .status when it is a subresource.
      if (opts.viaApi && kind.statusSubresource) {
        if (current.status === undefined) delete next.status;
        else next.status = current.status;
      }
    }
    const nextMeta = metaOf(next);
    nextMeta.resourceVersion = currentMeta.resourceVersion!;
    if (canonical(next) === canonical(current)) return current; // a no-op write: no new RV, no event
    if (specOf(next) !== specOf(current)) nextMeta.generation = Number(currentMeta.generation ?? 0) + 1;
    nextMeta.resourceVersion = String(++this.rv);
    return this.#commit(kind, 'MODIFIED', next, current);
  }

  #commit(kind: FakeKind, type: EventType, obj: JsonObject, previous: JsonObject | undefined): JsonObject {
    const state = this.state(kind);
    const meta = metaOf(obj);
    const key = objectKey(meta.namespace as string | undefined, meta.name as string);
    if (type === 'DELETED') state.objects.delete(key);
    else state.objects.set(key, obj);
    const event: StoredEvent = { type, object: obj, previous, rv: this.rv };
    state.history.push(event);
    while (state.history.length > this.historyLimit) state.floor = state.history.shift()!.rv;
    this.#onEvent(kind, event);
    return obj;
  }
}

function namespaceFor(urlNamespace: string | undefined, meta: JsonObject): string {
  const bodyNs = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  if (urlNamespace && bodyNs && urlNamespace !== bodyNs) {
    throw new ApiError(
      400,
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
  const ns = urlNamespace ?? bodyNs;
  if (!ns) throw new ApiError(400, 'a namespace must be specified for a namespaced resource');
  return ns;
}

function checkPreconditions(kind: FakeKind, current: JsonObject, meta: JsonObject, isPut: boolean): void {
  const currentMeta = metaOf(current);
  if (meta.uid !== undefined && meta.uid !== currentMeta.uid) {
    throw new ApiError(
      409,
      `Precondition failed: UID in precondition: ${String(meta.uid)}, UID in object meta: ${String(currentMeta.uid)}`,
      'Conflict',
      details(kind, String(currentMeta.name)),
    );
  }
  const rv = meta.resourceVersion;
  if (rv === undefined || rv === '') {
    if (isPut && kind.requireResourceVersion) {
      throw new ApiError(
        422,
        `${kind.kind}.${kind.group} "${String(currentMeta.name)}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
        'Invalid',
        details(kind, String(currentMeta.name)),
      );
    }
    return;
  }
  if (rv !== currentMeta.resourceVersion) {
    throw new ApiError(
      409,
      `Operation cannot be fulfilled on ${kind.plural}${kind.group ? `.${kind.group}` : ''} "${String(currentMeta.name)}": ` +
        'the object has been modified; please apply your changes to the latest version and try again',
      'Conflict',
      details(kind, String(currentMeta.name)),
    );
  }
}

export function details(kind: FakeKind, name: string): JsonObject {
  return { name, group: kind.group, kind: kind.plural };
}

export function notFound(kind: FakeKind, name: string): ApiError {
  return new ApiError(
    404,
    `${kind.plural}${kind.group ? `.${kind.group}` : ''} "${name}" not found`,
    'NotFound',
    details(kind, name),
  );
}
