/**
 * A session's last answers to one target's lists (tools/list, prompts/list, resources/list,
 * resources/templates/list), reused only while they cannot have gone stale: the target promised to
 * announce changes (`listChanged`), its event stream to us is open to carry that announcement, and
 * the upstream session that answered is still the session's. Each open upstream event stream owns
 * one (SessionEvents), so the answers go when the stream goes: a gap could hide an announcement.
 * Kept answers are read, never changed (merging copies what it renames).
 */
import type { JsonObject } from '../wire/jsonrpc.js';

// Most sessions of a backend get the same answers: each distinct one is held once per process
// (a 20-tool list parses to ~7 KiB of heap; a thousand listening sessions of three targets would
// otherwise hold ~21 MiB of copies).
const shared = new Map<string, WeakRef<JsonObject>>();
const collected = new FinalizationRegistry<string>((key) => {
  if (shared.get(key)?.deref() === undefined) shared.delete(key);
});

/** The process's copy of an answer equal to `result` (which becomes that copy if there is none). */
export function intern(method: string, result: JsonObject): JsonObject {
  const key = `${method}\n${JSON.stringify(result)}`;
  const known = shared.get(key)?.deref();
  if (known) return known;
  shared.set(key, new WeakRef(result));
  collected.register(result, key);
  return result;
}

/** The lists an upstream notification says have changed, or undefined for any other message. */
export function listsChangedBy(method: string): readonly string[] | undefined {
  switch (method) {
    case 'notifications/tools/list_changed':
      return ['tools/list'];
    case 'notifications/prompts/list_changed':
      return ['prompts/list'];
    case 'notifications/resources/list_changed':
      return ['resources/list', 'resources/templates/list'];
    default:
      return undefined;
  }
}

export class TargetLists {
  #entries: Map<string, JsonObject> | undefined;
  #version = 0;

  /** `owner`: the upstream session (the session's TargetSession) whose event stream this rides on. */
  constructor(readonly owner: object) {}

  /** Moves on every announcement: an answer requested before one is not kept. */
  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#entries?.size ?? 0;
  }

  /** The kept first page of `method`. */
  get(method: string): JsonObject | undefined {
    return this.#entries?.get(method);
  }

  /** Keep an answer requested at `version` (dropped when an announcement came in meanwhile). */
  keep(method: string, result: JsonObject, version: number): void {
    if (version !== this.#version) return;
    this.#entries ??= new Map();
    this.#entries.set(method, intern(method, result));
  }

  /** The target announced a change of these lists; all of them when none are named. */
  forget(methods?: readonly string[]): void {
    this.#version += 1;
    if (!methods) this.#entries = undefined;
    else for (const method of methods) this.#entries?.delete(method);
  }
}
