/**
 * What a sealed Mcp-Session-Id carries, as compact bytes (format 2), within a budget: the header
 * (issue time, backend, version, the kept client params) always, then as many targets as fit. A
 * target left out (it did not fit, or its state cannot be written compactly) stays in the memory
 * of the process that started it; another replica initializes it lazily, as it does a target that
 * joined the backend after the token was issued. Format 1 (the JSON tokens of earlier releases)
 * still opens, so a rolling upgrade keeps its sessions.
 *
 * Format 2, big-endian:
 *
 *   u8 2 | u48 issued at (ms) | 8 bytes SHA-256(backend id) | version | u16 n, n bytes JSON
 *   {capabilities, clientInfo?} | u16 target count | targets
 *
 *   target:  4 bytes SHA-256(name) | u8 bits | session id | endpoint | version? | u16 flags?
 *     bits 0-1  upstream session id: 0 none, 1 lower-case UUID as 16 bytes, 2 u16 length + UTF-8
 *     bits 2-3  endpoint: 0 the target's host:port, 1 IPv4 + u16 port, 2 IPv6 + u16 port,
 *               3 u8 length + host + u16 port
 *     bit 4     negotiated version equals the session's (else a version follows)
 *     bit 5     capability flags equal the previous target's (else a u16 bit set follows)
 *   version: u8 index into TOKEN_VERSIONS, or 0xff, u8 length, UTF-8
 *
 * A 4-byte name hash instead of the name: targets are resolved against the backend the request
 * arrived for; two of its targets with the same hash are never sealed, and a hash no current
 * target has is ignored (that target was removed).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Endpoint, McpBackend, McpTarget } from '../../../shared/table.js';
import type { JsonObject } from '../wire/jsonrpc.js';
import { ByteReader, ByteWriter, Truncated } from './bytes.js';
import { keptClientParams } from './client-params.js';
import { ipv4Bytes, ipv4Text, ipv6Bytes, ipv6Text } from './ip-bytes.js';

/** The state of one target's upstream session (the sealed part, plus what this process adds). */
export interface TargetSession {
  readonly name: string;
  /** The upstream's own Mcp-Session-Id (undefined for stateless upstreams). */
  sessionId: string | undefined;
  readonly endpoint: Endpoint;
  readonly protocolVersion: string;
  /** capabilityFlags() of the upstream's initialize result. */
  readonly flags: string;
}

export interface TokenContent {
  readonly issuedAt: number;
  readonly protocolVersion: string;
  /** keptClientParams(): `{protocolVersion, capabilities, clientInfo?}`. */
  readonly clientParams: JsonObject;
  readonly targets: readonly TargetSession[];
}

const FORMAT = 2;
/** Append only: an index, once written into tokens, keeps its meaning. */
const TOKEN_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];
/** Append only, in capabilityFlags() order (rewrite/merge.ts): bit i is letter i. */
const FLAG_LETTERS = 'tprsTPRlckjxq';
/** Upstream session ids longer than this stay in memory. */
export const MAX_SEALED_SESSION_ID = 256;
const MAX_VERSION_BYTES = 64;
const MAX_HOST_BYTES = 255;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Session id kinds (0: none).
const SID_UUID = 1;
const SID_TEXT = 2;
const EP_TARGET = 0;
const EP_IPV4 = 1;
const EP_IPV6 = 2;
const EP_HOST = 3;
const SAME_VERSION = 1 << 4;
const SAME_FLAGS = 1 << 5;

const sha256 = (text: string) => createHash('sha256').update(text).digest();
/**
 * The 8 bytes that bind a token to its backend and to the identity that started it ('' when the
 * route authenticates nobody): a token opens only for the same backend and the same principal.
 */
const ownerHash = (backendId: string, principal: string) =>
  sha256(principal === '' ? backendId : `${backendId}\n${principal}`).subarray(0, 8);
const hashKey = (text: string) => sha256(text).subarray(0, 4).toString('hex');

/** Per backend (tables are immutable): name hash → target, without hashes two targets share. */
const byHash = new WeakMap<McpBackend, Map<string, McpTarget>>();
function targetsByHash(backend: McpBackend): Map<string, McpTarget> {
  let map = byHash.get(backend);
  if (map) return map;
  map = new Map();
  const shared = new Set<string>();
  for (const target of backend.targets) {
    const key = hashKey(target.name);
    if (map.has(key)) shared.add(key);
    map.set(key, target);
  }
  for (const key of shared) map.delete(key);
  byHash.set(backend, map);
  return map;
}

function flagBits(flags: string): number | undefined {
  let bits = 0;
  for (const letter of flags) {
    const index = FLAG_LETTERS.indexOf(letter);
    if (index < 0) return undefined;
    bits |= 1 << index;
  }
  return flagText(bits) === flags ? bits : undefined;
}

function flagText(bits: number): string {
  let text = '';
  for (let i = 0; i < FLAG_LETTERS.length; i += 1) if (bits & (1 << i)) text += FLAG_LETTERS[i];
  return text;
}

function writeVersion(out: ByteWriter, version: string): void {
  const index = TOKEN_VERSIONS.indexOf(version);
  if (index >= 0) out.u8(index);
  else out.u8(0xff).text(version, 1);
}

function readVersion(input: ByteReader): string {
  const index = input.u8();
  if (index === 0xff) return input.text(1);
  const version = TOKEN_VERSIONS[index];
  if (version === undefined) throw new Truncated();
  return version;
}

/** One target's bytes, or undefined when its state has no compact form (it stays in memory). */
function encodeTarget(
  state: TargetSession,
  target: McpTarget,
  sessionVersion: string,
  previousFlags: string | undefined,
): Buffer | undefined {
  const flags = state.flags === previousFlags ? 0 : flagBits(state.flags);
  if (flags === undefined || Buffer.byteLength(state.protocolVersion) > MAX_VERSION_BYTES) return undefined;
  const out = new ByteWriter().bytes(sha256(target.name).subarray(0, 4));
  let bits = 0;
  const sid = state.sessionId;
  if (sid !== undefined) {
    if (sid.length > MAX_SEALED_SESSION_ID) return undefined;
    bits |= UUID.test(sid) ? SID_UUID : SID_TEXT;
  }
  const { address, port } = state.endpoint;
  const v4 = ipv4Bytes(address);
  const v6 = v4 ? undefined : ipv6Bytes(address);
  if (address === target.host && port === target.port) bits |= EP_TARGET << 2;
  else if (v4) bits |= EP_IPV4 << 2;
  else if (v6) bits |= EP_IPV6 << 2;
  else if (Buffer.byteLength(address) <= MAX_HOST_BYTES) bits |= EP_HOST << 2;
  else return undefined;
  if (state.protocolVersion === sessionVersion) bits |= SAME_VERSION;
  if (state.flags === previousFlags) bits |= SAME_FLAGS;
  out.u8(bits);
  if ((bits & 3) === SID_UUID) out.bytes(Buffer.from(sid!.replaceAll('-', ''), 'hex'));
  else if ((bits & 3) === SID_TEXT) out.text(sid!, 2);
  const endpoint = (bits >> 2) & 3;
  if (endpoint === EP_IPV4) out.bytes(v4!).u16(port);
  else if (endpoint === EP_IPV6) out.bytes(v6!).u16(port);
  else if (endpoint === EP_HOST) out.text(address, 1).u16(port);
  if (!(bits & SAME_VERSION)) writeVersion(out, state.protocolVersion);
  if (!(bits & SAME_FLAGS)) out.u16(flags);
  return out.result();
}

export interface Encoded {
  readonly plain: Buffer;
  /** Names of the targets written into the token (the others live in this process only). */
  readonly sealed: ReadonlySet<string>;
}

/** The format-2 payload of at most `maxBytes` bytes (the header alone always fits: it is bounded). */
export function encodeToken(
  content: TokenContent,
  backend: McpBackend,
  maxBytes: number,
  principal = '',
): Encoded {
  const { clientParams } = content;
  const client: JsonObject = { capabilities: clientParams.capabilities };
  if (clientParams.clientInfo !== undefined) client.clientInfo = clientParams.clientInfo;
  const header = new ByteWriter().u8(FORMAT).u48(content.issuedAt).bytes(ownerHash(backend.id, principal));
  writeVersion(header, content.protocolVersion);
  header.text(JSON.stringify(client), 2);
  const resolvable = targetsByHash(backend);
  const parts: Buffer[] = [];
  const sealed = new Set<string>();
  let used = header.length + 2;
  let previousFlags: string | undefined;
  for (const state of content.targets) {
    const target = backend.targets.find((t) => t.name === state.name);
    if (!target || resolvable.get(hashKey(target.name)) !== target) continue;
    const part = encodeTarget(state, target, content.protocolVersion, previousFlags);
    if (!part || used + part.length > maxBytes) continue;
    parts.push(part);
    sealed.add(state.name);
    used += part.length;
    previousFlags = state.flags;
  }
  header.u16(parts.length);
  for (const part of parts) header.bytes(part);
  return { plain: header.result(), sealed };
}

function decodeTarget(
  input: ByteReader,
  targets: Map<string, McpTarget>,
  sessionVersion: string,
  previousFlags: string,
): { state: TargetSession | undefined; flags: string } {
  const key = input.bytes(4).toString('hex');
  const bits = input.u8();
  let sessionId: string | undefined;
  if ((bits & 3) === SID_UUID) {
    const hex = input.bytes(16).toString('hex');
    sessionId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  } else if ((bits & 3) === SID_TEXT) sessionId = input.text(2);
  const target = targets.get(key);
  let endpoint: Endpoint | undefined;
  switch ((bits >> 2) & 3) {
    case EP_TARGET:
      endpoint = target && { address: target.host, port: target.port };
      break;
    case EP_IPV4:
      endpoint = { address: ipv4Text(input.bytes(4)), port: input.u16() };
      break;
    case EP_IPV6:
      endpoint = { address: ipv6Text(input.bytes(16)), port: input.u16() };
      break;
    default:
      endpoint = { address: input.text(1), port: input.u16() };
  }
  const protocolVersion = bits & SAME_VERSION ? sessionVersion : readVersion(input);
  const flags = bits & SAME_FLAGS ? previousFlags : flagText(input.u16());
  if (!target || !endpoint) return { state: undefined, flags };
  return { state: { name: target.name, sessionId, endpoint, protocolVersion, flags }, flags };
}

function decodeCompact(
  plain: Buffer,
  backend: McpBackend,
  principal: string,
): TokenContent | 'other-backend' | undefined {
  const input = new ByteReader(plain);
  input.u8(); // the format
  const issuedAt = input.u48();
  if (!input.bytes(8).equals(ownerHash(backend.id, principal))) return 'other-backend';
  const protocolVersion = readVersion(input);
  const client = JSON.parse(input.text(2)) as unknown;
  if (typeof client !== 'object' || client === null || Array.isArray(client)) return undefined;
  const clientParams = keptClientParams(client as JsonObject, protocolVersion);
  const resolvable = targetsByHash(backend);
  const targets: TargetSession[] = [];
  let flags = '';
  for (let count = input.u16(); count > 0; count -= 1) {
    const decoded = decodeTarget(input, resolvable, protocolVersion, flags);
    flags = decoded.flags;
    if (decoded.state) targets.push(decoded.state);
  }
  if (!input.done) return undefined;
  return { issuedAt, protocolVersion, clientParams, targets };
}

/** Format 1: the JSON tokens of earlier releases (the whole client params, full target names). */
const LegacySchema = z.object({
  b: z.string(),
  t: z.number(),
  v: z.string(),
  c: z.record(z.string(), z.unknown()),
  g: z.array(
    z.object({ n: z.string(), s: z.string().optional(), e: z.string(), v: z.string(), f: z.string() }),
  ),
});

function decodeLegacy(
  plain: Buffer,
  backend: McpBackend,
  principal: string,
): TokenContent | 'other-backend' | undefined {
  const parsed = LegacySchema.safeParse(JSON.parse(plain.toString('utf8')));
  if (!parsed.success) return undefined;
  const { b, t, v, c, g } = parsed.data;
  // Format 1 predates identities: it opens only where nobody is authenticated.
  if (b !== backend.id || principal !== '') return 'other-backend';
  const targets: TargetSession[] = [];
  for (const entry of g) {
    const colon = entry.e.lastIndexOf(':');
    const port = Number(entry.e.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port)) return undefined;
    const endpoint = { address: entry.e.slice(0, colon), port };
    targets.push({ name: entry.n, sessionId: entry.s, endpoint, protocolVersion: entry.v, flags: entry.f });
  }
  return { issuedAt: t, protocolVersion: v, clientParams: keptClientParams(c, v), targets };
}

/** The token's content for the backend the request arrived for, or why it cannot be used. */
export function decodeToken(
  plain: Buffer,
  backend: McpBackend,
  principal = '',
): TokenContent | 'other-backend' | undefined {
  try {
    if (plain[0] === FORMAT) return decodeCompact(plain, backend, principal);
    if (plain[0] === 0x7b /* { */) return decodeLegacy(plain, backend, principal);
    return undefined;
  } catch {
    // A short payload or broken JSON: only a bug could seal one, but it must not take a request down.
    return undefined;
  }
}
