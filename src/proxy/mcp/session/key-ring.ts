/**
 * Session sealing keys (docs/design.md section 5). AES-256-GCM with a random 96-bit nonce per token;
 * the key id travels in clear in front of the ciphertext and is bound as AAD. The first key seals,
 * every key opens, so a key rotates by prepending the new one and dropping the old one later.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KID_PATTERN = /^[A-Za-z0-9-]{1,32}$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;

interface Key {
  readonly id: string;
  readonly secret: Buffer;
  readonly aad: Buffer;
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

  /** `<kid>.<base64url(nonce | ciphertext | tag)>`: visible ASCII, as Mcp-Session-Id requires. */
  seal(plaintext: string): string {
    const key = this.#sealing;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.secret, nonce);
    cipher.setAAD(key.aad);
    const body = Buffer.concat([
      nonce,
      cipher.update(plaintext, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `${key.id}.${body.toString('base64url')}`;
  }

  /** The plaintext, or undefined for an unknown key id, a malformed or a tampered token. */
  open(token: string): string | undefined {
    const dot = token.indexOf('.');
    if (dot <= 0) return undefined;
    const key = this.#keys.get(token.slice(0, dot));
    if (!key) return undefined;
    const body = Buffer.from(token.slice(dot + 1), 'base64url');
    if (body.length < NONCE_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.secret, body.subarray(0, NONCE_BYTES));
      decipher.setAAD(key.aad);
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return plain.toString('utf8');
    } catch {
      return undefined;
    }
  }
}
