/**
 * Training-time augmentation as pure functions over typed arrays (square tiles, HWC, uint8).
 *
 * - `morph`: one of the 8 symmetries of the square (4 rotations by 90° × optional horizontal
 *   flip), applied identically to image and mask — what Albumentations' `HorizontalFlip` +
 *   `VerticalFlip` + `RandomRotate90` reach together.
 * - `color`: brightness and contrast factors in [0.8, 1.2] (torchvision/Albumentations
 *   `ColorJitter(brightness=0.2, contrast=0.2)`: contrast blends with the image's mean grey), then
 *   hue, saturation and value shifts (Albumentations `HueSaturationValue` defaults: hue ±20 OpenCV
 *   units = ±40°, saturation ±30/255, value ±20/255). The mask is not touched.
 *
 * Random parameters come from a seeded {@linkcode Rng}; the functions themselves are
 * deterministic.
 *
 * @module
 */
import type { Rng } from "../rng.ts";

/** Which augmentations to apply (`--augment`). */
export type AugmentMode = "none" | "morph" | "color" | "all";

/**
 * One of the 8 symmetries of a square `sizePx × sizePx` image with `channels` interleaved
 * channels. `op & 3` = number of 90° counter-clockwise rotations (as `numpy.rot90`), `op & 4` =
 * then flip left–right. Returns a new array.
 *
 * @example
 * ```ts
 * import { dihedral } from "./augment.ts";
 * // [[1, 2], [3, 4]] rotated 90° counter-clockwise is [[2, 4], [1, 3]]
 * console.assert(dihedral(new Uint8Array([1, 2, 3, 4]), 2, 1, 1).join() === "2,4,1,3");
 * ```
 */
export function dihedral(
  src: Uint8Array,
  sizePx: number,
  channels: number,
  op: number,
): Uint8Array {
  if (src.length !== sizePx * sizePx * channels) {
    throw new RangeError(`dihedral: ${src.length} values is not ${sizePx}²×${channels}`);
  }
  const out = new Uint8Array(src.length);
  const n = sizePx - 1;
  const rot = op & 3, flip = (op & 4) !== 0;
  for (let y = 0; y < sizePx; y++) {
    for (let x0 = 0; x0 < sizePx; x0++) {
      const x = flip ? n - x0 : x0;
      // source pixel of out[y][x] after `rot` counter-clockwise quarter turns
      let sy: number, sx: number;
      if (rot === 0) [sy, sx] = [y, x];
      else if (rot === 1) [sy, sx] = [x, n - y];
      else if (rot === 2) [sy, sx] = [n - y, n - x];
      else [sy, sx] = [n - x, y];
      const o = (y * sizePx + x0) * channels, s = (sy * sizePx + sx) * channels;
      for (let c = 0; c < channels; c++) out[o + c] = src[s + c];
    }
  }
  return out;
}

/** Parameters of {@linkcode colorJitter}. The identity is `{1, 1, 0, 0, 0}`. */
export interface ColorParams {
  /** Multiplies every channel. */
  brightness: number;
  /** Blends with the mean grey: `grey + c·(v − grey)`. */
  contrast: number;
  /** Hue rotation in degrees. */
  hueDeg: number;
  /** Added to HSV saturation (0–1 scale). */
  saturation: number;
  /** Added to HSV value (0–1 scale). */
  value: number;
}

/** Draws colour parameters with the ranges in the module doc. */
export function randomColorParams(rng: Rng): ColorParams {
  return {
    brightness: rng.uniform(0.8, 1.2),
    contrast: rng.uniform(0.8, 1.2),
    hueDeg: rng.uniform(-40, 40),
    saturation: rng.uniform(-30, 30) / 255,
    value: rng.uniform(-20, 20) / 255,
  };
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/**
 * Applies brightness, contrast, then HSV shifts to an RGB HWC uint8 image; returns a new array.
 * Grey for contrast uses the ITU-R BT.601 weights (0.299, 0.587, 0.114), like torchvision.
 *
 * @example
 * ```ts
 * import { colorJitter } from "./augment.ts";
 * const px = colorJitter(new Uint8Array([100, 50, 20]), { brightness: 1.5, contrast: 1, hueDeg: 0, saturation: 0, value: 0 });
 * console.assert(px.join() === "150,75,30");
 * ```
 */
export function colorJitter(rgbHWC: Uint8Array, p: ColorParams): Uint8Array {
  const n = rgbHWC.length / 3;
  if (!Number.isInteger(n)) {
    throw new RangeError(`colorJitter: ${rgbHWC.length} is not a multiple of 3`);
  }
  let grey = 0;
  for (let i = 0; i < rgbHWC.length; i += 3) {
    grey += 0.299 * rgbHWC[i] + 0.587 * rgbHWC[i + 1] + 0.114 * rgbHWC[i + 2];
  }
  // mean grey after the brightness factor (torchvision applies brightness first)
  const meanGrey = n > 0 ? (grey / n / 255) * p.brightness : 0;
  const hsvIdentity = p.hueDeg === 0 && p.saturation === 0 && p.value === 0;
  const out = new Uint8Array(rgbHWC.length);
  for (let i = 0; i < rgbHWC.length; i += 3) {
    let r = clamp01((rgbHWC[i] / 255) * p.brightness);
    let g = clamp01((rgbHWC[i + 1] / 255) * p.brightness);
    let b = clamp01((rgbHWC[i + 2] / 255) * p.brightness);
    r = clamp01(meanGrey + p.contrast * (r - meanGrey));
    g = clamp01(meanGrey + p.contrast * (g - meanGrey));
    b = clamp01(meanGrey + p.contrast * (b - meanGrey));
    if (!hsvIdentity) {
      // RGB → HSV (h in degrees)
      const max = Math.max(r, g, b), min = Math.min(r, g, b), d = max - min;
      let h = 0;
      if (d > 0) {
        if (max === r) h = 60 * (((g - b) / d) % 6);
        else if (max === g) h = 60 * ((b - r) / d + 2);
        else h = 60 * ((r - g) / d + 4);
      }
      let s = max > 0 ? d / max : 0;
      let v = max;
      h = (((h + p.hueDeg) % 360) + 360) % 360;
      s = clamp01(s + p.saturation);
      v = clamp01(v + p.value);
      // HSV → RGB
      const c = v * s, hp = h / 60, xx = c * (1 - Math.abs((hp % 2) - 1)), m = v - c;
      let rr = 0, gg = 0, bb = 0;
      if (hp < 1) [rr, gg, bb] = [c, xx, 0];
      else if (hp < 2) [rr, gg, bb] = [xx, c, 0];
      else if (hp < 3) [rr, gg, bb] = [0, c, xx];
      else if (hp < 4) [rr, gg, bb] = [0, xx, c];
      else if (hp < 5) [rr, gg, bb] = [xx, 0, c];
      else [rr, gg, bb] = [c, 0, xx];
      r = rr + m;
      g = gg + m;
      b = bb + m;
    }
    out[i] = Math.round(r * 255);
    out[i + 1] = Math.round(g * 255);
    out[i + 2] = Math.round(b * 255);
  }
  return out;
}

/**
 * Augments one sample in place of copies: returns the (possibly new) image and mask arrays.
 * Draw order from `rng`: morph op first (when on), then colour parameters (when on).
 */
export function augmentSample(
  rgbHWC: Uint8Array,
  maskU8: Uint8Array,
  sizePx: number,
  mode: AugmentMode,
  rng: Rng,
): { rgbHWC: Uint8Array; maskU8: Uint8Array } {
  let img = rgbHWC, mask = maskU8;
  if (mode === "morph" || mode === "all") {
    const op = rng.int(8);
    if (op !== 0) {
      img = dihedral(img, sizePx, 3, op);
      mask = dihedral(mask, sizePx, 1, op);
    }
  }
  if (mode === "color" || mode === "all") img = colorJitter(img, randomColorParams(rng));
  return { rgbHWC: img, maskU8: mask };
}
