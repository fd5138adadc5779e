/**
 * Integer-factor downscaling by area averaging, for `--scale 0.5 | 0.25`.
 *
 * Images: each output pixel is the mean of a `factor × factor` block, rounded as OpenCV's
 * `resize(..., INTER_AREA)` rounds it for 8-bit images with an integer factor: OpenCV takes its
 * "area fast" path, which for factor 2 computes `(sum + 2) >> 2` (round half up) and for other
 * factors `cvRound(sum · (1/factor²))` (round half to even). Both are reproduced exactly and checked
 * against `cv2.resize` golden data in `fixtures/golden/`.
 *
 * Masks: the fraction of set pixels in the block, then a threshold: set when at least half of the
 * block is set (`count · 2 ≥ factor²`), so an exact tie (e.g. 2 of 4) is kept as vessel.
 *
 * @module
 */

function checkDims(width: number, height: number, factor: number): void {
  if (!Number.isInteger(factor) || factor < 1) {
    throw new RangeError(`downscale factor must be a positive integer, got ${factor}`);
  }
  if (width % factor !== 0 || height % factor !== 0) {
    throw new RangeError(`${width}×${height} is not divisible by the downscale factor ${factor}`);
  }
}

/**
 * Downscales an 8-bit image with `channels` interleaved channels (HWC) by an integer `factor`,
 * exactly as OpenCV `INTER_AREA` does.
 *
 * @example
 * ```ts
 * import { downscaleArea } from "./resize.ts";
 * // 2×2 grey image with values 1, 2, 2, 2 → mean 1.75 → 2
 * const out = downscaleArea(new Uint8Array([1, 2, 2, 2]), 2, 2, 1, 2);
 * console.assert(out[0] === 2);
 * ```
 */
export function downscaleArea(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  factor: number,
): Uint8Array {
  checkDims(width, height, factor);
  if (factor === 1) return src.slice(0, width * height * channels);
  const ow = width / factor, oh = height / factor;
  const dst = new Uint8Array(ow * oh * channels);
  const sums = new Uint32Array(ow * channels);
  const area = factor * factor;
  const inv = 1 / area;
  const rowLen = width * channels;
  for (let oy = 0; oy < oh; oy++) {
    sums.fill(0);
    for (let dy = 0; dy < factor; dy++) {
      const rowStart = (oy * factor + dy) * rowLen;
      for (let ox = 0; ox < ow; ox++) {
        const base = rowStart + ox * factor * channels;
        for (let c = 0; c < channels; c++) {
          let s = 0;
          for (let dx = 0; dx < factor; dx++) s += src[base + dx * channels + c];
          sums[ox * channels + c] += s;
        }
      }
    }
    const out = oy * ow * channels;
    if (factor === 2) {
      for (let i = 0; i < sums.length; i++) dst[out + i] = (sums[i] + 2) >> 2;
    } else {
      for (let i = 0; i < sums.length; i++) {
        dst[out + i] = roundHalfEven(Math.fround(sums[i] * inv));
      }
    }
  }
  return dst;
}

/** cvRound on a float: round half to even (the default rounding mode of the FPU). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Downscales a binary mask (nonzero = set) by an integer `factor`: a block becomes 1 when at
 * least half of its pixels are set (ties → 1), else 0.
 *
 * @example
 * ```ts
 * import { downscaleMask } from "./resize.ts";
 * console.assert(downscaleMask(new Uint8Array([1, 1, 0, 0]), 2, 2, 2)[0] === 1); // tie → 1
 * ```
 */
export function downscaleMask(
  src: Uint8Array,
  width: number,
  height: number,
  factor: number,
): Uint8Array {
  checkDims(width, height, factor);
  const ow = width / factor, oh = height / factor;
  const dst = new Uint8Array(ow * oh);
  if (factor === 1) {
    for (let i = 0; i < dst.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
    return dst;
  }
  const counts = new Uint32Array(ow);
  const area = factor * factor;
  for (let oy = 0; oy < oh; oy++) {
    counts.fill(0);
    for (let dy = 0; dy < factor; dy++) {
      const row = (oy * factor + dy) * width;
      for (let ox = 0; ox < ow; ox++) {
        let s = 0;
        for (let dx = 0; dx < factor; dx++) if (src[row + ox * factor + dx] !== 0) s++;
        counts[ox] += s;
      }
    }
    for (let ox = 0; ox < ow; ox++) dst[oy * ow + ox] = counts[ox] * 2 >= area ? 1 : 0;
  }
  return dst;
}
