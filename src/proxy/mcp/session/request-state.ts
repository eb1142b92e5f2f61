/**
 * The gateway's envelope around a 2026-07-28 target's `requestState` (multi-round-trip results).
 * The client holds the state between rounds and may alter it; the envelope (AES-GCM with the
 * session key ring, so any replica opens it) binds it to the backend, the identity and the call it
 * belongs to — the method and the name or URI the client used, which is what routes the retry to
 * the same target — and expires. A state that does not open, or opens for another call, is refused
 * before any target sees it. Upstream, the target gets back exactly the state it issued.
 */
import type { KeyRing } from './key-ring.js';

/** Marks an envelope's plaintext, so a session id (same keys) never opens as a request state. */
const DOMAIN = 'mcplane-request-state/1\n';
/** How long a client may take to answer an input request. */
export const REQUEST_STATE_TTL_MS = 3_600_000;

export interface RequestCall {
  readonly backend: string;
  readonly principal: string;
  readonly method: string;
  /** The tool or prompt name, or the resource URI, as the client sent it. */
  readonly name: string;
}

interface Envelope extends RequestCall {
  readonly state: string;
  readonly expires: number;
}

export function sealRequestState(
  keyRing: KeyRing,
  call: RequestCall,
  state: string,
  now = Date.now(),
): string {
  const envelope: Envelope = { ...call, state, expires: now + REQUEST_STATE_TTL_MS };
  return keyRing.seal(DOMAIN + JSON.stringify(envelope));
}

/** The target's own state, or undefined when the envelope is not ours, altered, expired or for another call. */
export function openRequestState(
  keyRing: KeyRing,
  call: RequestCall,
  sealed: string,
  now = Date.now(),
): string | undefined {
  const plain = keyRing.open(sealed)?.toString('utf8');
  if (plain === undefined || !plain.startsWith(DOMAIN)) return undefined;
  let envelope: Partial<Envelope>;
  try {
    envelope = JSON.parse(plain.slice(DOMAIN.length)) as Partial<Envelope>;
  } catch {
    return undefined;
  }
  const same =
    envelope.backend === call.backend &&
    envelope.principal === call.principal &&
    envelope.method === call.method &&
    envelope.name === call.name;
  if (!same || typeof envelope.state !== 'string' || typeof envelope.expires !== 'number') return undefined;
  return envelope.expires > now ? envelope.state : undefined;
}
