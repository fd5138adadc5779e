/**
 * The trivial baselines of the study's Table 1: `none` (every pixel background), `full` (every
 * pixel vessel) and `random` (each pixel vessel with p = 0.5).
 *
 * `random` draws from a generator seeded by (`seed`, tile index) — not from one stream across
 * tiles — so a tile's mask does not depend on which tiles were scored before it or in what order.
 *
 * @module
 */
import { Rng } from "../rng.ts";

/**
 * All-zero mask of `n` pixels.
 *
 * @example
 * ```ts
 * import { noneMask } from "./trivial.ts";
 * console.assert(noneMask(4).every((v) => v === 0));
 * ```
 */
export function noneMask(n: number, out?: Uint8Array): Uint8Array {
  return (out ?? new Uint8Array(n)).fill(0);
}

/**
 * All-one mask of `n` pixels.
 *
 * @example
 * ```ts
 * import { fullMask } from "./trivial.ts";
 * console.assert(fullMask(4).every((v) => v === 1));
 * ```
 */
export function fullMask(n: number, out?: Uint8Array): Uint8Array {
  return (out ?? new Uint8Array(n)).fill(1);
}

/** The 32-bit seed of tile `tileIndex` under run seed `seed` (a splitmix-style mix of both). */
export function tileSeed(seed: number, tileIndex: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(tileIndex >>> 0, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Mask of `n` pixels, each 1 with probability 0.5 (one bit of a 32-bit draw per pixel), from a
 * generator seeded by (`seed`, `tileIndex`).
 *
 * @example
 * ```ts
 * import { randomMask } from "./trivial.ts";
 * const a = randomMask(1000, 0, 7), b = randomMask(1000, 0, 7);
 * console.assert(a.join() === b.join());
 * ```
 */
export function randomMask(
  n: number,
  seed: number,
  tileIndex: number,
  out?: Uint8Array,
): Uint8Array {
  const mask = out ?? new Uint8Array(n);
  if (mask.length !== n) throw new RangeError(`randomMask: output has ${mask.length}, need ${n}`);
  const rng = new Rng(tileSeed(seed, tileIndex));
  for (let i = 0; i < n; i += 32) {
    const bits = rng.uint32();
    const end = Math.min(32, n - i);
    for (let k = 0; k < end; k++) mask[i + k] = (bits >>> k) & 1;
  }
  return mask;
}
