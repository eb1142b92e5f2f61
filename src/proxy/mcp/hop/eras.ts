/**
 * Which revision each upstream speaks (issue 12). A target is asked once with a 2026-07-28
 * `server/discover`; one that answers with a modern `supportedVersions` is modern (the gateway then
 * sends it stateless requests with per-request `_meta` and headers), anything else — an HTTP error,
 * a JSON-RPC error, a result without modern versions — is legacy (the 2025 initialize handshake).
 * The answer is kept per endpoint for `maxAgeMs` and asked again after that; an unreachable target
 * is not remembered, so it is asked again on the next request.
 *
 * A dual-era target is spoken to in its client's era: a 2025 session uses the handshake (server→
 * client requests, the GET stream and logging work as they are), a 2026 request the stateless hop.
 * A 2025 session falls back to the 2026 hop only for a target that refuses the handshake. Each hop then speaks its own
 * target's revision: the client's version is never forwarded to a target that did not offer it.
 */
import { setNewest } from '../../../shared/newest.js';
import type { Endpoint, McpTarget } from '../../../shared/table.js';
import { UpstreamError } from '../../upstream/errors.js';
import { endpointKey } from '../../upstream/transport.js';
import { MODERN_VERSIONS } from '../wire/era.js';
import { JsonRpcCode } from '../wire/errors.js';
import { asObject, type JsonObject } from '../wire/jsonrpc.js';
import type { Context } from './context.js';
import { awaitResponse, post } from './upstream-call.js';

export type Era =
  | { readonly kind: 'modern'; readonly version: string; readonly discover: JsonObject }
  | { readonly kind: 'legacy' };

export type EraMode = 'auto' | 'legacy';

const LEGACY: Era = { kind: 'legacy' };
/** Endpoints remembered at once: a bound, whatever the table holds (the oldest answers go first). */
const MAX_KNOWN = 4096;

export class Eras {
  readonly #known = new Map<string, { readonly era: Era; readonly at: number }>();
  readonly #asking = new Map<string, Promise<Era>>();
  /** Endpoints that refused the 2025 handshake, and when. */
  readonly #refused = new Map<string, number>();

  constructor(
    /** `legacy`: never probe, every target gets the 2025 handshake (--upstream-era). */
    readonly mode: EraMode,
    /** --upstream-era-max-age */
    readonly maxAgeMs: number,
  ) {}

  /** The target's era at this endpoint: remembered, or asked (one question at a time per endpoint). */
  of(
    cx: Pick<Context, 'deps' | 'backend' | 'access'>,
    target: McpTarget,
    endpoint: Endpoint,
    signal: AbortSignal,
  ): Promise<Era> {
    // The legacy HTTP+SSE transport predates 2026 by definition.
    if (this.mode === 'legacy' || target.protocol === 'SSE') return Promise.resolve(LEGACY);
    const key = eraKey(target, endpoint);
    const known = this.#known.get(key);
    if (known && performance.now() - known.at < this.maxAgeMs) return Promise.resolve(known.era);
    let asking = this.#asking.get(key);
    if (!asking) {
      asking = probe(cx, target, endpoint, signal)
        .then((era) => {
          setNewest(this.#known, key, { era, at: performance.now() }, MAX_KNOWN);
          return era;
        })
        .finally(() => this.#asking.delete(key));
      this.#asking.set(key, asking);
    }
    return asking;
  }

  /** The endpoint refused the 2025 handshake lately (a 2026-only server): go straight to its era. */
  refusesLegacy(target: McpTarget, endpoint: Endpoint): boolean {
    const at = this.#refused.get(eraKey(target, endpoint));
    return at !== undefined && performance.now() - at < this.maxAgeMs;
  }

  markRefusesLegacy(target: McpTarget, endpoint: Endpoint): void {
    setNewest(this.#refused, eraKey(target, endpoint), performance.now(), MAX_KNOWN);
  }
}

/** A server is an endpoint and a path. */
const eraKey = (target: McpTarget, endpoint: Endpoint) => `${endpointKey(endpoint)}${target.path}`;

async function probe(
  cx: Pick<Context, 'deps' | 'backend' | 'access'>,
  target: McpTarget,
  endpoint: Endpoint,
  signal: AbortSignal,
): Promise<Era> {
  let version: string = MODERN_VERSIONS.at(-1)!;
  // Asked twice at most: a refusal naming a version the gateway speaks is answered with that one.
  for (let attempt = 0; ; attempt++) {
    const hop = { endpoint, sessionId: undefined, protocolVersion: version };
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: `mcplane-discover-${attempt}`,
      method: 'server/discover',
      params: {},
    });
    try {
      const response = await awaitResponse(
        await post(cx, target, hop, 'server/discover', body, signal),
        target.name,
      );
      const result = asObject(response.result);
      const offered = Array.isArray(result?.supportedVersions) ? result.supportedVersions : [];
      const common = MODERN_VERSIONS.filter((v) => offered.includes(v));
      return result && common.length > 0
        ? { kind: 'modern', version: common.at(-1)!, discover: result }
        : LEGACY;
    } catch (error) {
      const retry = attempt === 0 ? supportedInRefusal(error) : undefined;
      if (retry !== undefined) {
        version = retry;
        continue;
      }
      // A legacy server refuses a request outside its handshake (HTTP 400/404/405…) or answers garbage.
      if (error instanceof UpstreamError && (error.failure === 'status' || error.failure === 'protocol'))
        return LEGACY;
      throw error;
    }
  }
}

/** The newest version the gateway speaks among those an UnsupportedProtocolVersion refusal lists. */
function supportedInRefusal(error: unknown): string | undefined {
  if (!(error instanceof UpstreamError) || error.refusal?.code !== JsonRpcCode.UnsupportedProtocolVersion)
    return undefined;
  const supported = asObject(error.refusal.data)?.supported;
  if (!Array.isArray(supported)) return undefined;
  return MODERN_VERSIONS.filter((v) => supported.includes(v)).at(-1);
}
