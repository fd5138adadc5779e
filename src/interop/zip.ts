/**
 * ZIP archives with stored (uncompressed) entries, the container of PyTorch's checkpoint format
 * (`torch.save` since 1.6 writes a ZIP of raw tensor bytes and a pickle, never compressed).
 *
 * Writing follows PKWARE's APPNOTE 6.3 without ZIP64 (archives under 4 GiB), with CRC-32, and
 * pads each entry's local header with an extra field so the data starts on a multiple of
 * `align` bytes, as PyTorch does (64) so that tensors can be memory-mapped. Reading takes the
 * central directory's stored entries; a compressed entry or a damaged archive is an
 * `InputError`.
 *
 * @module
 */
import { crc32 } from "../crc32.ts";
import { InputError } from "../errors.ts";

/**
 * The fields local and central headers share, from "version needed" to the name's length: 2.0,
 * UTF-8 names, stored, 1980-01-01 00:00, CRC-32, sizes.
 */
function entryFields(v: DataView, at: number, crc: number, size: number, nameLen: number): void {
  v.setUint16(at, 20, true);
  v.setUint16(at + 2, 0x0800, true);
  v.setUint16(at + 4, 0, true);
  v.setUint16(at + 6, 0, true);
  v.setUint16(at + 8, 0x21, true);
  v.setUint32(at + 10, crc, true);
  v.setUint32(at + 14, size, true);
  v.setUint32(at + 18, size, true);
  v.setUint16(at + 22, nameLen, true);
}

/** One file of an archive. */
export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

/**
 * A ZIP archive of stored entries, each entry's data aligned to `align` bytes (default 64).
 *
 * @example
 * ```ts
 * import { readZip, writeZip } from "./zip.ts";
 * const zip = writeZip([{ name: "a/b.txt", data: new TextEncoder().encode("hi") }]);
 * console.assert(new TextDecoder().decode(readZip(zip, "x.zip").get("a/b.txt")) === "hi");
 * ```
 */
export function writeZip(entries: readonly ZipEntry[], opts: { align?: number } = {}): Uint8Array {
  const align = opts.align ?? 64;
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const crc = crc32(e.data);
    if (e.data.length >= 0xffffffff) throw new RangeError(`${e.name}: over 4 GiB (no ZIP64)`);
    // Local header 30 bytes + name + extra; the extra field (id 0x4246 "FB", as PyTorch) pads
    // the data start to the alignment. An extra field needs 4 bytes of its own header.
    const pad = align > 1 ? (align - ((offset + 30 + name.length + 4) % align)) % align : 0;
    const extraLen = align > 1 ? pad + 4 : 0;
    const local = new Uint8Array(30 + name.length + extraLen);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    entryFields(lv, 4, crc, e.data.length, name.length);
    lv.setUint16(28, extraLen, true);
    local.set(name, 30);
    if (extraLen > 0) {
      lv.setUint16(30 + name.length, 0x4246, true);
      lv.setUint16(32 + name.length, pad, true);
    }
    const cen = new Uint8Array(46 + name.length);
    const cv = new DataView(cen.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true); // version made by: 2.0
    entryFields(cv, 6, crc, e.data.length, name.length);
    cv.setUint32(42, offset, true);
    cen.set(name, 46);
    parts.push(local, e.data);
    central.push(cen);
    offset += local.length + e.data.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let at = 0;
  for (const p of [...parts, ...central, end]) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The stored entries of a ZIP archive by name (views into `bytes`). CRC-32s are checked.
 *
 * @param file the archive's path, for messages
 * @throws {InputError} for a file that is not a ZIP archive, a truncated one, a compressed or
 *   encrypted entry, or a CRC mismatch
 */
export function readZip(bytes: Uint8Array, file: string): Map<string, Uint8Array> {
  const bad = (what: string) => new InputError(file, undefined, what);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record: 22 bytes plus a comment of up to 65 535.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (v.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad("not a ZIP archive (no end-of-central-directory record)");
  const count = v.getUint16(eocd + 10, true);
  let at = v.getUint32(eocd + 16, true);
  const dec = new TextDecoder();
  const out = new Map<string, Uint8Array>();
  for (let k = 0; k < count; k++) {
    if (at + 46 > bytes.length || v.getUint32(at, true) !== 0x02014b50) {
      throw bad(`damaged ZIP central directory (entry ${k})`);
    }
    const flags = v.getUint16(at + 8, true);
    const method = v.getUint16(at + 10, true);
    const crc = v.getUint32(at + 16, true);
    const size = v.getUint32(at + 20, true);
    const nameLen = v.getUint16(at + 28, true);
    const extraLen = v.getUint16(at + 30, true);
    const commentLen = v.getUint16(at + 32, true);
    const local = v.getUint32(at + 42, true);
    const name = dec.decode(bytes.subarray(at + 46, at + 46 + nameLen));
    at += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw bad(`${name}: encrypted ZIP entry`);
    if (method !== 0) {
      throw bad(`${name}: compressed ZIP entry (method ${method}), expected stored`);
    }
    if (local + 30 > bytes.length || v.getUint32(local, true) !== 0x04034b50) {
      throw bad(`${name}: damaged ZIP local header`);
    }
    const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    if (start + size > bytes.length) throw bad(`${name}: truncated (${size} bytes expected)`);
    const data = bytes.subarray(start, start + size);
    if (crc32(data) !== crc) throw bad(`${name}: CRC-32 mismatch (damaged archive)`);
    out.set(name, data);
  }
  return out;
}
