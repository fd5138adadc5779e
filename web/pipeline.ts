/**
 * The browser page's pure steps, shared with its tests: a dropped tile's pixels → the network
 * input, and the network's probabilities → a mask (`binarize`, the rule of validation), its
 * vessel count (`countComponents8`) and an overlay. The resizing
 * and normalisation are the training code's own functions ({@linkcode downscaleArea},
 * {@linkcode toInput}), bundled into the page, so the page sees the numbers training saw.
 *
 * @module
 */
import { downscaleArea } from "../src/data/resize.ts";
import { toInput } from "../src/data/input.ts";
import type { ModelMeta } from "../src/serve/model_meta.ts";

export type { ModelMeta };
export { countComponents8 } from "../src/data/components.ts";
export { binarize } from "../src/metrics/binarize.ts";

/** A tile ready for the network. */
export interface PreparedInput {
  /** x: [1, heightPx, widthPx, 3] float32, normalised like training. */
  x: Float32Array;
  /** The downscaled RGB tile, [heightPx, widthPx, 3] uint8 (the overlay's background). */
  rgbHWC: Uint8Array;
  widthPx: number;
  heightPx: number;
  /** The integer area-downscale factor that was applied (1 = none). */
  factor: number;
}

/** Drops the alpha channel of canvas `ImageData` bytes: RGBA → RGB, HWC. */
export function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  const n = rgba.length / 4;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = rgba[i * 4];
    rgb[i * 3 + 1] = rgba[i * 4 + 1];
    rgb[i * 3 + 2] = rgba[i * 4 + 2];
  }
  return rgb;
}

/**
 * Brings a tile to the model's scale with OpenCV-`INTER_AREA` averaging (the prepare step's
 * {@linkcode downscaleArea}) and normalises it like training ({@linkcode toInput}).
 *
 * @throws {RangeError} when the tile's sides are not divisible by the scale factor, or the scaled
 * sides are not multiples of `2^depth`
 *
 * @example
 * ```ts
 * import { prepareInput } from "./pipeline.ts";
 * const meta = { tileSizePx: 4, scale: 1, depth: 2, threshold: 0.5, checkpoint: "c", epoch: 1, trainedOn: "t", synthetic: null };
 * const inp = prepareInput(new Uint8Array(4 * 4 * 3).fill(255), 4, 4, meta);
 * console.assert(inp.x.length === 48 && inp.x[0] === 1);
 * ```
 */
export function prepareInput(
  rgbHWC: Uint8Array,
  widthPx: number,
  heightPx: number,
  meta: ModelMeta,
): PreparedInput {
  const factor = Math.round(1 / meta.scale);
  if (!(factor >= 1) || Math.abs(factor * meta.scale - 1) > 1e-9) {
    throw new RangeError(`model scale ${meta.scale} is not 1/n for an integer n`);
  }
  if (widthPx % factor !== 0 || heightPx % factor !== 0) {
    throw new RangeError(
      `tile is ${widthPx}×${heightPx}: expected sides divisible by ${factor} (model scale ${meta.scale})`,
    );
  }
  const w = widthPx / factor, h = heightPx / factor;
  const multiple = 2 ** meta.depth;
  if (w % multiple !== 0 || h % multiple !== 0) {
    throw new RangeError(
      `tile is ${w}×${h} at the model's scale: expected sides that are multiples of ${multiple}`,
    );
  }
  const small = downscaleArea(rgbHWC, widthPx, heightPx, 3, factor);
  const x = new Float32Array(w * h * 3);
  toInput(small, meta.normalize ?? {}, x, 0);
  return { x, rgbHWC: small, widthPx: w, heightPx: h, factor };
}

/**
 * RGBA pixels of the tile with the probability laid over it in green:
 * `out = (1 − a)·tile + a·green` with `a = 0.6·p`, and at least `a = 0.45` where the mask is set,
 * so faint probabilities stay visible and the thresholded vessels stand out.
 */
export function overlayRgba(
  rgbHWC: Uint8Array,
  prob: Float32Array,
  mask: Uint8Array,
): Uint8ClampedArray<ArrayBuffer> {
  const n = prob.length;
  const out = new Uint8ClampedArray(n * 4);
  const colour = [0, 255, 90];
  for (let i = 0; i < n; i++) {
    const a = mask[i] !== 0 ? Math.max(0.45, 0.6 * prob[i]) : 0.6 * prob[i];
    for (let c = 0; c < 3; c++) {
      out[i * 4 + c] = Math.round((1 - a) * rgbHWC[i * 3 + c] + a * colour[c]);
    }
    out[i * 4 + 3] = 255;
  }
  return out;
}
