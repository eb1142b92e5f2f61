/**
 * One client session: what the sealed Mcp-Session-Id carries (token-codec.ts: per target upstream
 * session id, pinned endpoint, negotiated version, capabilities; the issue time; the kept client
 * params) plus what only this process knows (the GET stream, targets added after the token was
 * issued or left out of it, in-flight request owners).
 */
import type { McpBackend } from '../../../shared/table.js';
import type { JsonObject, JsonRpcId, JsonRpcResponse } from '../wire/jsonrpc.js';
import { keptClientParams } from './client-params.js';
import { type KeyRing, parseToken } from './key-ring.js';
import { type EventSink, SessionEvents } from './session-events.js';
import { decodeToken, encodeToken, type TargetSession } from './token-codec.js';

export type { TargetSession } from './token-codec.js';

/**
 * The most characters a session id may have: under 4 KiB, so that it passes proxies' and Node's
 * default header limits (nginx's 8 KiB line buffers, Node's 16 KiB for all headers) with room to spare.
 */
export const TOKEN_BUDGET_CHARS = 4000;

export class Session {
  readonly targets: Map<string, TargetSession>;
  // The collections below are created on first use: most sessions never need most of them, and an
  // idle session should cost little more than its token (bench: RSS per idle session).
  #starting: Map<string, Promise<TargetSession | undefined>> | undefined;
  #failedAt: Map<string, number> | undefined;
  #owners: Map<string, Map<string, string>> | undefined;
  #inflight: Map<string, string> | undefined;
  #requestIds: Set<JsonRpcId> | undefined;
  #events: SessionEvents | undefined;

  /** Ids of the client's requests not yet answered: a second request reusing one is refused. */
  get requestIds(): Set<JsonRpcId> {
    this.#requestIds ??= new Set();
    return this.#requestIds;
  }

  /** The GET stream and the upstream event streams feeding it. */
  get events(): SessionEvents {
    this.#events ??= new SessionEvents();
    return this.#events;
  }
  lastUsed = performance.now();
  /**
   * The client's `logging/setLevel`, for 2026-07-28 targets (which take the level in each request's
   * `_meta`). This replica's memory only: another replica's hops go without it.
   */
  logLevel: string | undefined;
  #serverRequests = 0;

  /** Lazy initialization of targets added after the session started, one attempt at a time. */
  get starting(): Map<string, Promise<TargetSession | undefined>> {
    this.#starting ??= new Map();
    return this.#starting;
  }

  /** performance.now() of the last failed lazy initialization, so a dead target is not retried per request. */
  get failedAt(): Map<string, number> {
    this.#failedAt ??= new Map();
    return this.#failedAt;
  }

  /** Unprefixed naming: list method → (name → owning target), from the last merged list. */
  get owners(): Map<string, Map<string, string>> {
    this.#owners ??= new Map();
    return this.#owners;
  }

  /** Client request id → target it went to (for notifications/cancelled). */
  get inflight(): Map<string, string> {
    this.#inflight ??= new Map();
    return this.#inflight;
  }

  /**
   * Requests the gateway sent the client on its own behalf (a 2026 target's input request, asked
   * as a 2025 server→client request) → who waits for the client's response.
   */
  #inputWaits: Map<string, (response: JsonRpcResponse) => void> | undefined;

  waitForInput(id: string, answered: (response: JsonRpcResponse) => void): void {
    this.#inputWaits ??= new Map();
    this.#inputWaits.set(id, answered);
  }

  /** The client answered one of those requests: true when someone was waiting for it. */
  answerInput(response: JsonRpcResponse): boolean {
    const key = String(response.id);
    const waiting = this.#inputWaits?.get(key);
    if (!waiting) return false;
    this.#inputWaits!.delete(key);
    waiting(response);
    return true;
  }

  forgetInput(id: string): void {
    this.#inputWaits?.delete(id);
  }

  /** A routed request is answered: forget its owner (without creating the map just to empty it). */
  forgetInflight(id: JsonRpcId): void {
    this.#inflight?.delete(String(id));
  }

  /** The targets changed: names resolved from earlier lists may belong elsewhere now. */
  forgetOwners(): void {
    this.#owners?.clear();
  }

  #clientParams: JsonObject | (() => JsonObject);

  /** keptClientParams(): what is replayed to targets that join later; bounded whatever the client sent. */
  get clientParams(): JsonObject {
    if (typeof this.#clientParams === 'function') this.#clientParams = this.#clientParams();
    return this.#clientParams;
  }

  /** The client is demonstrably there: its GET stream is open or a request is in flight. */
  get busy(): boolean {
    return this.#events?.sink !== undefined || (this.#requestIds?.size ?? 0) > 0;
  }

  /** The session is going away: close its GET stream and upstream streams, if it ever had any. */
  close(): void {
    this.#events?.close();
  }

  constructor(
    readonly token: string,
    /** The token's nonce: names the session in revocations (parseToken). */
    readonly id: string,
    /** The backend it belongs to: a token opens only for the backend it was issued for. */
    readonly backendId: string,
    readonly protocolVersion: string,
    /** keptClientParams(), or how to make them (a view makes them only when a hop needs them). */
    clientParams: JsonObject | (() => JsonObject),
    /** Date.now() when the session started: its lifetime counts from here. */
    readonly issuedAt: number,
    targets: readonly TargetSession[],
    /** How many of the targets the token carries (the others live in this process only). */
    readonly sealedTargets = targets.length,
    /** Who started it ('' when the route authenticates nobody): nobody else may use it. */
    readonly principal = '',
    /** A 2026-07-28 request's view (Session.view) shares its owner's upstream sessions. */
    readonly owner?: Session,
  ) {
    this.#clientParams = clientParams;
    this.targets = owner?.targets ?? new Map();
    if (owner) {
      this.#starting = owner.starting;
      this.#failedAt = owner.failedAt;
      this.#owners = owner.owners;
    }
    for (const target of targets) this.targets.set(target.name, target);
  }

  /**
   * What one 2026-07-28 request runs in: the gateway-owned upstream sessions of `owner` (shared by
   * every modern client of the same route, backend and identity), and this request's own client
   * identity, ids in flight and streams — gone when the request is.
   */
  static view(owner: Session, clientParams: () => JsonObject): Session {
    return new Session(
      owner.token,
      owner.id,
      owner.backendId,
      owner.protocolVersion,
      clientParams,
      owner.issuedAt,
      [],
      0,
      owner.principal,
      owner,
    );
  }

  /** The client's open GET stream, if any. */
  get stream(): EventSink | undefined {
    return this.#events?.sink;
  }

  nextServerRequestNumber(): number {
    this.#serverRequests += 1;
    return this.#serverRequests;
  }

  /** Seal a new session: the client's `initialize` params are kept bounded (client-params.ts). */
  static create(
    keyRing: KeyRing,
    backend: McpBackend,
    protocolVersion: string,
    params: JsonObject,
    targets: readonly TargetSession[],
    issuedAt = Date.now(),
    principal = '',
  ): Session {
    const clientParams = keptClientParams(params, protocolVersion);
    const content = { issuedAt, protocolVersion, clientParams, targets };
    const { plain, sealed } = encodeToken(content, backend, maxPlainBytes(keyRing), principal);
    const token = keyRing.seal(plain);
    const id = parseToken(token)!.id;
    return new Session(
      token,
      id,
      backend.id,
      protocolVersion,
      clientParams,
      issuedAt,
      targets,
      sealed.size,
      principal,
    );
  }

  /**
   * Rebuild a session from its token for the backend a request arrived for: undefined when the
   * token does not open (unknown key, tampered, not canonical), 'other-backend' when it was issued
   * for another backend.
   */
  static open(
    keyRing: KeyRing,
    token: string,
    backend: McpBackend,
    principal = '',
  ): Session | 'other-backend' | undefined {
    const parts = parseToken(token);
    if (!parts) return undefined;
    const plain = keyRing.open(parts);
    if (!plain) return undefined;
    const content = decodeToken(plain, backend, principal);
    if (content === undefined || content === 'other-backend') return content;
    const { protocolVersion, clientParams, issuedAt, targets } = content;
    return new Session(
      token,
      parts.id,
      backend.id,
      protocolVersion,
      clientParams,
      issuedAt,
      targets,
      targets.length,
      principal,
    );
  }
}

/** The largest payload whose token stays within TOKEN_BUDGET_CHARS with this ring's sealing key. */
function maxPlainBytes(keyRing: KeyRing): number {
  let bytes = Math.floor((TOKEN_BUDGET_CHARS * 3) / 4);
  while (keyRing.tokenLength(bytes) > TOKEN_BUDGET_CHARS) bytes -= 1;
  return bytes;
}
