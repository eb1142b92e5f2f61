/**
 * Session sealing keys (docs/design.md section 5). AES-256-GCM with a random 96-bit nonce per token;
 * the key id travels in clear in front of the ciphertext and is bound as AAD. The first key seals,
 * every key opens, so a key rotates by prepending the new one and dropping the old one later.
 *
 * A token has exactly one spelling: `<kid>.<base64url>` with the strict alphabet, no padding, and
 * canonical trailing bits. Node's base64url decoder skips invalid characters and a partial last
 * chunk, so without the check `<id>=` or `<id>\tx` would open the same session as `<id>`.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** 12 nonce bytes are exactly 16 base64url characters: the id is a prefix of the token's body. */
const ID_CHARS = 16;
const KID_PATTERN = /^[A-Za-z0-9-]{1,32}$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

interface Key {
  readonly id: string;
  readonly secret: Buffer;
  readonly aad: Buffer;
}

/** A token's parts once its spelling is known to be canonical (nothing is authenticated yet). */
export interface TokenParts {
  readonly kid: string;
  /** The nonce in base64url: unique per token, what revocations name. */
  readonly id: string;
  readonly body: Buffer;
}

/**
 * The id part of a token as spelled, unchecked: enough to find a session this process holds, whose
 * own (canonical) token the caller then compares whole. Anything else goes through parseToken().
 */
export function tokenId(token: string): string {
  const dot = token.indexOf('.');
  return dot > 0 ? token.slice(dot + 1, dot + 1 + ID_CHARS) : '';
}

/** Split a token and check its spelling; undefined for anything but the one canonical form. */
export function parseToken(token: string): TokenParts | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const kid = token.slice(0, dot);
  const text = token.slice(dot + 1);
  if (!KID_PATTERN.test(kid) || !BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const body = Buffer.from(text, 'base64url');
  if (body.length < NONCE_BYTES + TAG_BYTES || body.toString('base64url') !== text) return undefined;
  return { kid, id: text.slice(0, ID_CHARS), body };
}

/** A MAC key derived from one sealing key (HKDF-SHA256), for a purpose other than sealing. */
export interface DerivedKey {
  readonly kid: string;
  readonly key: Buffer;
}

export class KeyRing {
  readonly #keys: ReadonlyMap<string, Key>;
  readonly #sealing: Key;

  private constructor(
    keys: readonly Key[],
    /** True for a per-process random key: sessions do not survive restarts or span replicas. */
    readonly ephemeral: boolean,
  ) {
    const first = keys[0];
    if (!first) throw new Error('a key ring needs at least one key');
    this.#sealing = first;
    this.#keys = new Map(keys.map((key) => [key.id, key]));
  }

  /** `kid:hex64[,kid:hex64...]`; the first key seals. Errors never echo key material. */
  static fromSpec(spec: string): KeyRing {
    const entries = spec
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '');
    if (entries.length === 0) throw new Error('session key spec is empty; expected kid:hex64[,kid:hex64...]');
    const keys: Key[] = [];
    for (const [index, entry] of entries.entries()) {
      const colon = entry.indexOf(':');
      const id = colon > 0 ? entry.slice(0, colon) : '';
      const hex = colon > 0 ? entry.slice(colon + 1) : '';
      if (!KID_PATTERN.test(id)) {
        throw new Error(`session key #${index + 1}: key id must be 1-32 letters, digits or '-' (kid:hex64)`);
      }
      if (!HEX_KEY.test(hex))
        throw new Error(`session key "${id}": the key must be 64 hex characters (32 bytes)`);
      if (keys.some((key) => key.id === id)) throw new Error(`session key "${id}" appears twice`);
      keys.push({ id, secret: Buffer.from(hex, 'hex'), aad: Buffer.from(id, 'utf8') });
    }
    return new KeyRing(keys, false);
  }

  static random(): KeyRing {
    const id = `r${randomBytes(4).toString('hex')}`;
    return new KeyRing([{ id, secret: randomBytes(32), aad: Buffer.from(id, 'utf8') }], true);
  }

  /** Characters a token adds around a plaintext of `plainBytes` bytes (key id, nonce, tag, base64). */
  tokenLength(plainBytes: number): number {
    return this.#sealing.id.length + 1 + Math.ceil(((NONCE_BYTES + plainBytes + TAG_BYTES) * 4) / 3);
  }

  /** `<kid>.<base64url(nonce | ciphertext | tag)>`: visible ASCII, as Mcp-Session-Id requires. */
  seal(plaintext: Uint8Array | string): string {
    const key = this.#sealing;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.secret, nonce);
    cipher.setAAD(key.aad);
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const body = Buffer.concat([nonce, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
    return `${key.id}.${body.toString('base64url')}`;
  }

  /** The plaintext, or undefined for an unknown key id, a non-canonical, malformed or tampered token. */
  open(token: string | TokenParts): Buffer | undefined {
    const parts = typeof token === 'string' ? parseToken(token) : token;
    if (!parts) return undefined;
    const key = this.#keys.get(parts.kid);
    if (!key) return undefined;
    const { body } = parts;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.secret, body.subarray(0, NONCE_BYTES));
      decipher.setAAD(key.aad);
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      return undefined;
    }
  }

  /**
   * Keys for another purpose (`info` names it), derived from every sealing key with HKDF-SHA256 so
   * that the sealing secrets themselves are used for nothing else: the first derives from the
   * sealing key, and every key of the ring is accepted.
   */
  derive(info: string): { readonly current: DerivedKey; readonly all: ReadonlyMap<string, Buffer> } {
    const all = new Map<string, Buffer>();
    for (const key of this.#keys.values()) {
      all.set(key.id, Buffer.from(hkdfSync('sha256', key.secret, Buffer.alloc(0), info, 32)));
    }
    return { current: { kid: this.#sealing.id, key: all.get(this.#sealing.id)! }, all };
  }
}
