/**
 * The read side of the API server: paginated lists over one consistent snapshot, and the start of a
 * watch (initial ADDEDs or history replay, or 410 for an RV older than the retention window).
 */
import { randomUUID } from 'node:crypto';
import type { ClusterState } from './cluster-state.js';
import { metaOf } from './cluster-state.js';
import { apiVersionOf, type FakeKind } from './kinds.js';
import { parseLabelSelector } from './selector.js';
import { ApiError, type JsonObject } from './status.js';
import type { Watcher } from './watch.js';

interface ListSnapshot {
  readonly rv: number;
  readonly items: JsonObject[];
}

/** `labelSelector` plus the `metadata.name`/`metadata.namespace` field selectors, over metadata. */
export function selectorPredicate(query: URLSearchParams): (meta: JsonObject) => boolean {
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields: [string, string, boolean][] = [];
  for (const term of (query.get('fieldSelector') ?? '').split(',').filter(Boolean)) {
    const m = /^metadata\.(name|namespace)\s*(==|=|!=)\s*(.*)$/.exec(term.trim());
    if (!m) throw new ApiError(400, `field label not supported: ${term}`);
    fields.push([m[1]!, m[3]!, m[2] === '!=']);
  }
  return (meta) =>
    labels(meta.labels as Record<string, string> | undefined) &&
    fields.every(([field, value, negate]) => (meta[field] === value) !== negate);
}

function sortedObjects(cluster: ClusterState, kind: FakeKind, namespace: string | undefined): JsonObject[] {
  return [...cluster.state(kind).objects.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, obj]) => obj)
    .filter((obj) => namespace === undefined || metaOf(obj).namespace === namespace);
}

export class Lister {
  readonly #snapshots = new Map<string, ListSnapshot>();

  constructor(private readonly cluster: ClusterState) {}

  /** Invalidate every outstanding continue token (they answer 410 Expired from now on). */
  expireContinueTokens(): void {
    this.#snapshots.clear();
  }

  list(kind: FakeKind, namespace: string | undefined, query: URLSearchParams): JsonObject {
    const limit = Number(query.get('limit') ?? '0');
    if (!Number.isInteger(limit) || limit < 0)
      throw new ApiError(400, `invalid limit: ${query.get('limit')}`);
    const token = query.get('continue');
    let snapshot: ListSnapshot;
    let offset = 0;
    let id: string;
    if (token) {
      const decoded = decodeToken(token);
      const found = this.#snapshots.get(decoded.id);
      if (!found) {
        throw new ApiError(
          410,
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          'Expired',
        );
      }
      [snapshot, offset, id] = [found, decoded.offset, decoded.id];
    } else {
      const predicate = selectorPredicate(query);
      const items = sortedObjects(this.cluster, kind, namespace).filter((o) => predicate(metaOf(o)));
      [snapshot, id] = [{ rv: this.cluster.rv, items }, randomUUID()];
    }
    const end = limit > 0 ? offset + limit : snapshot.items.length;
    const page = snapshot.items.slice(offset, end);
    const metadata: JsonObject = { resourceVersion: String(snapshot.rv) };
    if (end < snapshot.items.length) {
      this.#snapshots.set(id, snapshot);
      if (this.#snapshots.size > 200) this.#snapshots.delete(this.#snapshots.keys().next().value!);
      metadata.continue = encodeToken(id, end);
      metadata.remainingItemCount = snapshot.items.length - end;
    }
    return {
      kind: `${kind.kind}List`,
      apiVersion: apiVersionOf(kind),
      metadata,
      // Like a real server: built-in kinds omit per-item kind/apiVersion, custom resources carry them.
      items: page.map((obj) => (kind.crd ? obj : withoutTypeMeta(obj))),
    };
  }
}

function withoutTypeMeta(obj: JsonObject): JsonObject {
  const { kind: _k, apiVersion: _a, ...rest } = obj;
  return rest;
}

function encodeToken(id: string, offset: number): string {
  return Buffer.from(JSON.stringify({ id, offset })).toString('base64url');
}

function decodeToken(token: string): { id: string; offset: number } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as {
      id?: unknown;
      offset?: unknown;
    };
    if (typeof parsed.id === 'string' && typeof parsed.offset === 'number') {
      return { id: parsed.id, offset: parsed.offset };
    }
  } catch {
    // fall through
  }
  throw new ApiError(400, `invalid continue token: ${token}`);
}

export type WatchStart =
  | { kind: 'initial' }
  | { kind: 'from'; rv: number }
  | { kind: 'expired'; message: string };

/** Decide where a watch starts: `""`/`"0"`/unset → current state as ADDEDs; an RV → replay after it. */
export function watchStart(cluster: ClusterState, kind: FakeKind, rvParam: string | null): WatchStart {
  if (!rvParam || rvParam === '0') return { kind: 'initial' };
  const rv = Number(rvParam);
  if (!/^\d+$/.test(rvParam)) throw new ApiError(400, `invalid resourceVersion: ${rvParam}`);
  const floor = cluster.state(kind).floor;
  if (rv < floor) return { kind: 'expired', message: `too old resource version: ${rv} (${floor})` };
  return { kind: 'from', rv };
}

/** Write the first events of a watch that has just opened. */
export function primeWatch(cluster: ClusterState, watcher: Watcher, start: WatchStart): void {
  const kind = watcher.spec.kind;
  if (start.kind === 'initial') {
    for (const obj of sortedObjects(cluster, kind, undefined)) {
      if (watcher.matches(obj)) watcher.send('ADDED', obj);
    }
  } else if (start.kind === 'from') {
    for (const event of cluster.state(kind).history) if (event.rv > start.rv) watcher.offer(event);
  }
}
