/**
 * Pixel confusion counts of a binary prediction against a binary truth mask — the functional core
 * that every score in `scores.ts` is computed from (as in segmentation_models_pytorch's
 * `get_stats`).
 *
 * Masks are `Uint8Array`s of equal length; any nonzero byte is positive (vessel), except that a
 * truth byte of `IGNORE_U8` (2, `src/mask.ts`: sets prepared with `--ignore`) leaves the pixel out
 * of every count, whatever the prediction there. Counts are plain
 * JS numbers (IEEE doubles, exact up to 2^53), so summing 7 000 tiles of 512² (1.8·10⁹ pixels)
 * cannot overflow.
 *
 * @module
 */

/** Pixel counts: true/false positives/negatives. */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** A zeroed {@linkcode Confusion}. */
export function emptyConfusion(): Confusion {
  return { tp: 0, fp: 0, fn: 0, tn: 0 };
}

import { IGNORE_U8 } from "../mask.ts";

/**
 * Counts TP/FP/FN/TN of `pred` against `truth` (nonzero = positive; truth `IGNORE_U8` = left
 * out).
 *
 * @throws {RangeError} when the masks differ in length.
 * @example
 * ```ts
 * import { confusion } from "./confusion.ts";
 * const c = confusion(new Uint8Array([1, 1, 0, 0]), new Uint8Array([1, 0, 1, 0]));
 * console.assert(c.tp === 1 && c.fp === 1 && c.fn === 1 && c.tn === 1);
 * // truth 2 = ignore: those pixels count nowhere
 * const d = confusion(new Uint8Array([1, 0, 1]), new Uint8Array([2, 2, 1]));
 * console.assert(d.tp === 1 && d.fp === 0 && d.fn === 0 && d.tn === 0);
 * ```
 */
export function confusion(pred: Uint8Array, truth: Uint8Array): Confusion {
  if (pred.length !== truth.length) {
    throw new RangeError(
      `confusion: prediction has ${pred.length} pixels but truth has ${truth.length}`,
    );
  }
  // Branch-free: (v + 255) >> 8 is 1 for any nonzero byte and 0 for 0; ((t ^ IGNORE) + 255) >> 8
  // is 0 exactly for an ignored truth pixel. Count counted, predicted, true and both; the other
  // cells follow. Int32 sums are exact per 2^30-pixel chunk, added into doubles.
  let p = 0, t = 0, both = 0, counted = 0;
  const n = pred.length;
  const CHUNK = 1 << 30;
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
    let cp = 0, ct = 0, cb = 0, cn = 0;
    for (let i = start; i < end; i++) {
      const v = ((truth[i] ^ IGNORE_U8) + 255) >> 8;
      const a = ((pred[i] + 255) >> 8) & v, b = ((truth[i] + 255) >> 8) & v;
      cn += v;
      cp += a;
      ct += b;
      cb += a & b;
    }
    p += cp;
    t += ct;
    both += cb;
    counted += cn;
  }
  return { tp: both, fp: p - both, fn: t - both, tn: counted - p - t + both };
}

/**
 * Adds `c` into `into` (in place) and returns `into`: the accumulator for pooling (`micro`) over
 * many tiles.
 *
 * @example
 * ```ts
 * import { addConfusion, emptyConfusion } from "./confusion.ts";
 * const total = emptyConfusion();
 * addConfusion(total, { tp: 1, fp: 2, fn: 3, tn: 4 });
 * addConfusion(total, { tp: 1, fp: 0, fn: 0, tn: 0 });
 * console.assert(total.tp === 2 && total.tn === 4);
 * ```
 */
export function addConfusion(into: Confusion, c: Confusion): Confusion {
  into.tp += c.tp;
  into.fp += c.fp;
  into.fn += c.fn;
  into.tn += c.tn;
  return into;
}

/** Sum of a list of confusions (a new object). */
export function sumConfusion(cs: Iterable<Confusion>): Confusion {
  const total = emptyConfusion();
  for (const c of cs) addConfusion(total, c);
  return total;
}
