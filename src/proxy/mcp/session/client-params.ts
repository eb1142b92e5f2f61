/**
 * What a session keeps of the client's `initialize` params: only what the gateway replays to targets
 * that join later (or on another replica), bounded whatever the client sent. Targets at session start
 * get the params as sent (within --max-initialize-bytes); a session holds and seals at most about
 * 1.3 KiB of them:
 *
 * - `protocolVersion` (the version the session negotiated);
 * - `capabilities` as sent when its JSON is at most 1 KiB; otherwise only the spec's known keys
 *   (roots, sampling, elicitation, tasks) with their booleans and nested objects (what servers act
 *   on: `roots.listChanged`, `elicitation.form`, `tasks.requests…`), strings, numbers, arrays,
 *   `experimental` and `extensions` dropped; if that is still over 1 KiB, each known key as `{}`;
 * - `clientInfo` as `{name, version}`, each cut to 100 characters (title, icons and the rest dropped).
 */
import type { JsonObject } from '../wire/jsonrpc.js';

export const MAX_CAPABILITIES_BYTES = 1024;
export const MAX_CLIENT_INFO_CHARS = 100;
const KNOWN_CAPABILITIES = ['roots', 'sampling', 'elicitation', 'tasks'] as const;
const MAX_KEY_CHARS = 64;
const MAX_DEPTH = 4;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * At most `max` UTF-16 units, never ending in half a surrogate pair. A cut string is copied: a V8
 * slice of a long string keeps all of it alive for as long as the session keeps the slice.
 */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return JSON.parse(
    JSON.stringify(text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max)),
  ) as string;
}

/** Booleans and nested objects only (the flags a capability is made of), a few levels deep. */
function shape(value: JsonObject, depth: number): JsonObject {
  const out: JsonObject = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key.length > MAX_KEY_CHARS) continue;
    if (typeof inner === 'boolean') out[key] = inner;
    else if (isObject(inner)) out[key] = depth < MAX_DEPTH ? shape(inner, depth + 1) : {};
  }
  return out;
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

export function keptCapabilities(capabilities: unknown): JsonObject {
  if (!isObject(capabilities)) return {};
  if (jsonBytes(capabilities) <= MAX_CAPABILITIES_BYTES) return capabilities;
  const known: JsonObject = {};
  for (const key of KNOWN_CAPABILITIES) {
    const value = capabilities[key];
    if (isObject(value)) known[key] = shape(value, 1);
  }
  if (jsonBytes(known) <= MAX_CAPABILITIES_BYTES) return known;
  return Object.fromEntries(Object.keys(known).map((key) => [key, {}]));
}

/**
 * The params replayed to a target that joins later: `{protocolVersion, capabilities, clientInfo}`,
 * bounded as described above. `clientInfo` is left out when the client sent none.
 */
export function keptClientParams(params: JsonObject, protocolVersion: string): JsonObject {
  const kept: JsonObject = { protocolVersion, capabilities: keptCapabilities(params.capabilities) };
  const info = params.clientInfo;
  if (isObject(info)) {
    const text = (value: unknown) => (typeof value === 'string' ? cut(value, MAX_CLIENT_INFO_CHARS) : '');
    kept.clientInfo = { name: text(info.name), version: text(info.version) };
  }
  // Nothing here is a slice of a longer string (cut() copies): the request's own small values may
  // be kept as they are (this runs for every 2026-07-28 request).
  return kept;
}
