/**
 * The competition's mask encoding: COCO run-length encoding as pycocotools' `mask.encode` writes
 * it, compressed with zlib (level 9) and base64-encoded.
 *
 * - Runs are taken in column-major (Fortran) order — down the first column, then the next — and
 *   alternate 0s and 1s, starting with a run of 0s (which is 0 long when the first pixel is set).
 * - The counts become an ASCII string as in pycocotools' `rleToString` (`maskApi.c`): count `i`
 *   is replaced by its difference to count `i − 2` when `i > 2`; the (signed) value is written
 *   in 5-bit groups, least significant first; a group gets bit `0x20` when more groups follow
 *   (more follow while the rest is not 0 — or not −1 when the group's sign bit `0x10` is set);
 *   48 is added to each group to make it printable.
 * - `encoded = base64(zlib.compress(counts, 9))`, the competition's `encode_binary_mask`.
 *
 * Golden strings from an independent Python implementation are in `fixtures/rle/`.
 *
 * @module
 */
import { deflateSync, inflateSync } from "node:zlib";

/**
 * Column-major run lengths of a binary mask (nonzero = set), starting with a run of 0s.
 *
 * @param maskU8 row-major `[height, width]`
 *
 * @example
 * ```ts
 * import { rleCounts } from "./rle.ts";
 * // 2×2, only the top-right pixel set: column-major order is 0, 0, 1, 0
 * console.assert(rleCounts(new Uint8Array([0, 1, 0, 0]), 2, 2).join() === "2,1,1");
 * ```
 */
export function rleCounts(maskU8: Uint8Array, width: number, height: number): number[] {
  if (maskU8.length !== width * height) {
    throw new RangeError(`mask has ${maskU8.length} bytes, expected ${width}×${height}`);
  }
  const counts: number[] = [];
  let prev = 0, run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = maskU8[y * width + x] !== 0 ? 1 : 0;
      if (v !== prev) {
        counts.push(run);
        run = 0;
        prev = v;
      }
      run++;
    }
  }
  counts.push(run);
  return counts;
}

/**
 * Column-major run lengths of a mask given as its set pixels' row-major indices (any order,
 * no duplicates), for instances that cover a small part of a tile.
 *
 * @example
 * ```ts
 * import { rleCountsFromPixels } from "./rle.ts";
 * console.assert(rleCountsFromPixels(Int32Array.of(1), 2, 2).join() === "2,1,1");
 * ```
 */
export function rleCountsFromPixels(
  pixels: Int32Array,
  width: number,
  height: number,
): number[] {
  const cm = new Float64Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const p = pixels[i];
    cm[i] = (p % width) * height + Math.floor(p / width);
  }
  cm.sort();
  const counts: number[] = [];
  let pos = 0; // column-major position of the next pixel not yet in a run
  let i = 0;
  while (i < cm.length) {
    let j = i + 1;
    while (j < cm.length && cm[j] === cm[j - 1] + 1) j++;
    counts.push(cm[i] - pos, j - i);
    pos = cm[j - 1] + 1;
    i = j;
  }
  const total = width * height;
  if (counts.length === 0 || pos < total) counts.push(total - pos);
  return counts;
}

/**
 * pycocotools' `rleToString`: counts → the compressed ASCII string.
 *
 * @example
 * ```ts
 * import { countsToString } from "./rle.ts";
 * // 3 → "3"; 16 needs two groups (bit 0x10 would read as a sign): "`0"
 * console.assert(countsToString([3]) === "3" && countsToString([16]) === "`0");
 * ```
 */
export function countsToString(counts: readonly number[]): string {
  let s = "";
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x = Math.floor(x / 32); // arithmetic shift right by 5, valid beyond 32 bits
      more = (c & 0x10) !== 0 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/**
 * pycocotools' `rleFromString`: the ASCII string → counts.
 *
 * @throws {RangeError} on a character outside `0`–`o` (48–111) or a truncated value
 *
 * @example
 * ```ts
 * import { stringToCounts } from "./rle.ts";
 * console.assert(stringToCounts("`0").join() === "16");
 * ```
 */
export function stringToCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      if (p >= s.length) throw new RangeError(`RLE string ends inside a value at ${p}`);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) {
        throw new RangeError(`RLE string has "${s[p]}" at ${p}, expected characters 0–o`);
      }
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10) !== 0) x -= 2 ** (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/**
 * Mask (row-major `[height, width]`, 0/1) from column-major counts.
 *
 * @throws {RangeError} when a count is negative or they do not sum to `width · height`
 */
export function countsToMask(counts: readonly number[], width: number, height: number): Uint8Array {
  const total = width * height;
  const mask = new Uint8Array(total);
  let pos = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i];
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`RLE count ${i} is ${n}`);
    if (pos + n > total) {
      throw new RangeError(`RLE counts cover more than ${width}×${height} = ${total} pixels`);
    }
    if (i % 2 === 1) {
      for (let q = pos; q < pos + n; q++) {
        mask[(q % height) * width + Math.floor(q / height)] = 1;
      }
    }
    pos += n;
  }
  if (pos !== total) {
    throw new RangeError(`RLE counts cover ${pos} pixels, expected ${width}×${height} = ${total}`);
  }
  return mask;
}

function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * `base64(zlib level 9(counts string))` — the `encoded` field of a submission instance.
 *
 * @example
 * ```ts
 * import { encodeCounts, rleCounts } from "./rle.ts";
 * const enc = encodeCounts(rleCounts(new Uint8Array([0, 1, 0, 0]), 2, 2));
 * console.assert(enc.startsWith("eNo")); // zlib level 9 header, base64
 * ```
 */
export function encodeCounts(counts: readonly number[]): string {
  const ascii = new TextEncoder().encode(countsToString(counts));
  return toBase64(new Uint8Array(deflateSync(ascii, { level: 9 })));
}

/**
 * Inverse of {@linkcode encodeCounts}.
 *
 * @throws {RangeError} when `encoded` is not base64 of a zlib stream of an RLE string
 */
export function decodeCounts(encoded: string): number[] {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(encoded);
  } catch {
    throw new RangeError("not base64");
  }
  let text: string;
  try {
    text = new TextDecoder().decode(inflateSync(bytes));
  } catch {
    throw new RangeError("base64 does not hold a zlib stream");
  }
  return stringToCounts(text);
}

/**
 * Encodes a binary mask as a submission's `encoded` string.
 *
 * @example
 * ```ts
 * import { decodeMask, encodeMask } from "./rle.ts";
 * const mask = new Uint8Array([0, 1, 1, 1, 0, 0]);
 * console.assert(decodeMask(encodeMask(mask, 3, 2), 3, 2).join() === mask.join());
 * ```
 */
export function encodeMask(maskU8: Uint8Array, width: number, height: number): string {
  return encodeCounts(rleCounts(maskU8, width, height));
}

/** Decodes a submission's `encoded` string into a row-major 0/1 mask. */
export function decodeMask(encoded: string, width: number, height: number): Uint8Array {
  return countsToMask(decodeCounts(encoded), width, height);
}
