/**
 * Replicas authenticate each other with an HMAC-SHA256 keyed from the session key ring (HKDF of
 * each sealing secret, so the secrets themselves sign nothing else): whoever can seal session ids
 * may tell a replica to end them, nobody else. A request carries `mcplane-peer-auth: <kid>.<ms>.<mac>`
 * over its method, path, time and body; the answer to a pull carries a MAC bound to that request, so
 * an old answer cannot be replayed to a new pull. The sender uses the first key; any key of the ring
 * is accepted, so keys rotate as they do for sealing. A request more than a minute away from the
 * receiver's clock is refused: a replayed request is at worst a repeat of revocations already known.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KeyRing } from '../mcp/index.js';

export const PEER_AUTH_HEADER = 'mcplane-peer-auth';
const INFO = 'mcplane peer revocations v1';
const WINDOW_MS = 60_000;
const HEADER = /^([A-Za-z0-9-]{1,32})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/;

/** HMAC over length-prefixed parts (so no part can borrow bytes from the next). */
function mac(key: Buffer, parts: readonly string[]): Buffer {
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(`${Buffer.byteLength(part)}:`).update(part);
  return hmac.digest();
}

export class PeerAuth {
  readonly #keys: ReturnType<KeyRing['derive']>;

  constructor(
    keyRing: KeyRing,
    private readonly now: () => number = Date.now,
  ) {
    this.#keys = keyRing.derive(INFO);
  }

  #sign(purpose: string, parts: readonly string[]): string {
    const { kid, key } = this.#keys.current;
    const at = String(this.now());
    return `${kid}.${at}.${mac(key, [purpose, at, ...parts]).toString('base64url')}`;
  }

  #verify(header: string | null, purpose: string, parts: readonly string[]): boolean {
    const match = header === null ? null : HEADER.exec(header);
    if (!match) return false;
    const [, kid, at, given] = match as unknown as [string, string, string, string];
    const key = this.#keys.all.get(kid);
    if (!key || Math.abs(this.now() - Number(at)) > WINDOW_MS) return false;
    return timingSafeEqual(mac(key, [purpose, at, ...parts]), Buffer.from(given, 'base64url'));
  }

  signRequest(method: string, path: string, body: string): string {
    return this.#sign('request', [method, path, body]);
  }

  verifyRequest(header: string | null, method: string, path: string, body: string): boolean {
    return this.#verify(header, 'request', [method, path, body]);
  }

  /** The answer's MAC, bound to the request's own header value. */
  signResponse(requestHeader: string, body: string): string {
    return this.#sign('response', [requestHeader, body]);
  }

  verifyResponse(header: string | null, requestHeader: string, body: string): boolean {
    return this.#verify(header, 'response', [requestHeader, body]);
  }
}
