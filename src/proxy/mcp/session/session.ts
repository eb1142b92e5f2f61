/**
 * One client session: what the sealed Mcp-Session-Id carries (per target: upstream session id,
 * pinned endpoint, negotiated version, capabilities) plus what only this process knows (the GET
 * stream, targets added after the token was issued, in-flight request owners).
 */
import { z } from 'zod';
import type { Endpoint } from '../../../shared/table.js';
import type { JsonObject, JsonRpcId } from '../wire/jsonrpc.js';
import type { KeyRing } from './key-ring.js';
import { type EventSink, SessionEvents } from './session-events.js';

export interface TargetSession {
  readonly name: string;
  /** The upstream's own Mcp-Session-Id (undefined for stateless upstreams). */
  sessionId: string | undefined;
  readonly endpoint: Endpoint;
  readonly protocolVersion: string;
  /** capabilityFlags() of the upstream's initialize result. */
  readonly flags: string;
}

const TokenSchema = z.object({
  b: z.string(),
  t: z.number(),
  v: z.string(),
  c: z.record(z.string(), z.unknown()),
  g: z.array(
    z.object({ n: z.string(), s: z.string().optional(), e: z.string(), v: z.string(), f: z.string() }),
  ),
});

export class Session {
  readonly targets = new Map<string, TargetSession>();
  // The collections below are created on first use: most sessions never need most of them, and an
  // idle session should cost little more than its token (bench: RSS per idle session).
  #starting: Map<string, Promise<TargetSession | undefined>> | undefined;
  #failedAt: Map<string, number> | undefined;
  #owners: Map<string, Map<string, string>> | undefined;
  #inflight: Map<string, string> | undefined;
  /** Ids of the client's requests not yet answered: a second request reusing one is refused. */
  readonly requestIds = new Set<JsonRpcId>();
  /** The GET stream and the upstream event streams feeding it. */
  readonly events = new SessionEvents();
  lastUsed = performance.now();
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

  /** A routed request is answered: forget its owner (without creating the map just to empty it). */
  forgetInflight(id: JsonRpcId): void {
    this.#inflight?.delete(String(id));
  }

  /** The targets changed: names resolved from earlier lists may belong elsewhere now. */
  forgetOwners(): void {
    this.#owners?.clear();
  }

  /** The client is demonstrably there: its GET stream is open or a request is in flight. */
  get busy(): boolean {
    return this.events.sink !== undefined || this.requestIds.size > 0;
  }

  /** The session is going away: close its GET stream and upstream streams, if it ever had any. */
  close(): void {
    this.events.close();
  }

  constructor(
    readonly token: string,
    readonly backendId: string,
    readonly protocolVersion: string,
    /** The client's initialize params, replayed to targets that join later. */
    readonly clientParams: JsonObject,
    readonly issuedAt: number,
    targets: readonly TargetSession[],
  ) {
    for (const target of targets) this.targets.set(target.name, target);
  }

  /** The client's open GET stream, if any. */
  get stream(): EventSink | undefined {
    return this.events.sink;
  }

  nextServerRequestNumber(): number {
    this.#serverRequests += 1;
    return this.#serverRequests;
  }

  static create(
    keyRing: KeyRing,
    backendId: string,
    protocolVersion: string,
    clientParams: JsonObject,
    targets: readonly TargetSession[],
  ): Session {
    const issuedAt = Date.now();
    const payload = {
      b: backendId,
      t: issuedAt,
      v: protocolVersion,
      c: clientParams,
      g: targets.map((t) => ({
        n: t.name,
        ...(t.sessionId === undefined ? {} : { s: t.sessionId }),
        e: `${t.endpoint.address}:${t.endpoint.port}`,
        v: t.protocolVersion,
        f: t.flags,
      })),
    };
    const token = keyRing.seal(JSON.stringify(payload));
    return new Session(token, backendId, protocolVersion, clientParams, issuedAt, targets);
  }

  /** Rebuild a session from its token, or undefined when it cannot be opened or parsed. */
  static open(keyRing: KeyRing, token: string): Session | undefined {
    const plain = keyRing.open(token);
    if (plain === undefined) return undefined;
    let parsed: z.infer<typeof TokenSchema>;
    try {
      const result = TokenSchema.safeParse(JSON.parse(plain));
      if (!result.success) return undefined;
      parsed = result.data;
    } catch {
      return undefined;
    }
    const targets: TargetSession[] = [];
    for (const entry of parsed.g) {
      const colon = entry.e.lastIndexOf(':');
      const port = Number(entry.e.slice(colon + 1));
      if (colon <= 0 || !Number.isInteger(port)) return undefined;
      targets.push({
        name: entry.n,
        sessionId: entry.s,
        endpoint: { address: entry.e.slice(0, colon), port },
        protocolVersion: entry.v,
        flags: entry.f,
      });
    }
    return new Session(token, parsed.b, parsed.v, parsed.c, parsed.t, targets);
  }
}
