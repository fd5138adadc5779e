/**
 * A Protocol Buffers encoder (the wire format of protobuf.dev/programming-guides/encoding): enough
 * to write ONNX models (`src/model/onnx.ts`). Messages are built bottom-up: a field's value is a
 * number, a string, bytes, or a nested message's bytes.
 *
 * @module
 */

/** Builder of one message's bytes. */
export class Message {
  #parts: Uint8Array[] = [];
  #size = 0;

  #push(b: Uint8Array): void {
    this.#parts.push(b);
    this.#size += b.length;
  }

  #varint(n: bigint): void {
    // negative int64 values are written as their two's complement, 10 bytes
    let v = BigInt.asUintN(64, n);
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.#push(Uint8Array.from(out));
  }

  #key(field: number, wire: number): void {
    this.#varint(BigInt((field << 3) | wire));
  }

  /** A varint field (int32, int64, enum, bool). */
  int(field: number, value: number | bigint): this {
    this.#key(field, 0);
    this.#varint(BigInt(value));
    return this;
  }

  /** A 32-bit float field (wire type 5). */
  float(field: number, value: number): this {
    this.#key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.#push(b);
    return this;
  }

  /** A length-delimited field: bytes, a UTF-8 string or a nested message. */
  bytes(field: number, value: Uint8Array | string | Message): this {
    const b = typeof value === "string"
      ? new TextEncoder().encode(value)
      : value instanceof Message
      ? value.finish()
      : value;
    this.#key(field, 2);
    this.#varint(BigInt(b.length));
    this.#push(b);
    return this;
  }

  /** A packed repeated varint field. */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new Message();
    for (const v of values) inner.#varint(BigInt(v));
    return this.bytes(field, inner.finish());
  }

  /** The message's bytes. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
