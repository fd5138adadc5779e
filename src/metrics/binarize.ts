/**
 * The one rule that turns a probability map into a mask, used by training validation,
 * `evaluate`, `predict`, instance extraction and the browser page: a pixel is vessel when its
 * probability is strictly above the threshold. A run saves the threshold it validated with
 * (`--threshold` of `train`, default {@linkcode DEFAULT_THRESHOLD}); `evaluate`, `predict` and
 * `serve` use that saved value unless a flag overrides it.
 *
 * @module
 */

/** The default probability threshold (the reference study's 0.5). */
export const DEFAULT_THRESHOLD = 0.5;

/**
 * `on` where `prob > threshold`, else 0, written into `out` (a new array by default).
 *
 * @example
 * ```ts
 * import { binarize } from "./binarize.ts";
 * const mask = binarize(Float32Array.of(0.2, 0.5, 0.51), 0.5);
 * console.assert(mask.join(",") === "0,0,1");
 * console.assert(binarize(Float32Array.of(0.9), 0.5, new Uint8Array(1), 255)[0] === 255);
 * ```
 */
export function binarize(
  prob: ArrayLike<number>,
  threshold: number = DEFAULT_THRESHOLD,
  out: Uint8Array = new Uint8Array(prob.length),
  on = 1,
): Uint8Array {
  for (let i = 0; i < prob.length; i++) out[i] = prob[i] > threshold ? on : 0;
  return out;
}

/**
 * Checks a threshold read from a file or a flag: a number in [0, 1].
 *
 * @example
 * ```ts
 * import { isThreshold } from "./binarize.ts";
 * console.assert(isThreshold(0.5) && !isThreshold(1.5) && !isThreshold(NaN));
 * ```
 */
export function isThreshold(value: unknown): value is number {
  return typeof value === "number" && value >= 0 && value <= 1;
}
