/** A growing big-endian byte writer and a bounds-checked reader, for the sealed session payload. */

export class ByteWriter {
  #buffer = Buffer.allocUnsafe(256);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  #room(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + bytes));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }

  u8(value: number): this {
    this.#room(1);
    this.#buffer.writeUInt8(value, this.#length);
    this.#length += 1;
    return this;
  }

  u16(value: number): this {
    this.#room(2);
    this.#buffer.writeUInt16BE(value, this.#length);
    this.#length += 2;
    return this;
  }

  u48(value: number): this {
    this.#room(6);
    this.#buffer.writeUIntBE(value, this.#length, 6);
    this.#length += 6;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.#room(value.length);
    this.#buffer.set(value, this.#length);
    this.#length += value.length;
    return this;
  }

  /** UTF-8 text behind a u8 (short) or u16 length. */
  text(value: string, lengthBytes: 1 | 2): this {
    const data = Buffer.from(value, 'utf8');
    if (lengthBytes === 1) this.u8(data.length);
    else this.u16(data.length);
    return this.bytes(data);
  }

  result(): Buffer {
    return Buffer.from(this.#buffer.subarray(0, this.#length));
  }
}

/** Thrown on a payload that ends early: the caller treats the token as unreadable. */
export class Truncated extends Error {}

export class ByteReader {
  #offset = 0;
  constructor(private readonly buffer: Buffer) {}

  get done(): boolean {
    return this.#offset === this.buffer.length;
  }

  #take(bytes: number): number {
    const at = this.#offset;
    if (at + bytes > this.buffer.length) throw new Truncated();
    this.#offset += bytes;
    return at;
  }

  u8(): number {
    return this.buffer.readUInt8(this.#take(1));
  }

  u16(): number {
    return this.buffer.readUInt16BE(this.#take(2));
  }

  u48(): number {
    return this.buffer.readUIntBE(this.#take(6), 6);
  }

  bytes(length: number): Buffer {
    const at = this.#take(length);
    return this.buffer.subarray(at, at + length);
  }

  text(lengthBytes: 1 | 2): string {
    const length = lengthBytes === 1 ? this.u8() : this.u16();
    return this.bytes(length).toString('utf8');
  }
}
