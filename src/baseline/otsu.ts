/**
 * Otsu thresholding as the reference study ran it with OpenCV: `cv2.cvtColor(img,
 * cv2.COLOR_RGB2GRAY)` then `cv2.threshold(grey, 0, 255, THRESH_BINARY | THRESH_OTSU)`.
 * Foreground is the bright side (grey > threshold); `invert` takes the dark side (grey ≤
 * threshold).
 *
 * Both steps reproduce OpenCV byte-exactly (checked against Debian's python3-opencv 4.6 in
 * `fixtures/otsu/`):
 * - grey: ITU-R BT.601 weights 0.299/0.587/0.114 in OpenCV's 15-bit fixed point for 8-bit input
 *   (`RGB2Gray<uchar>` in imgproc `color_rgb.simd.hpp`: R 9798, G 19235, B 3735 — B rounded down
 *   so the weights sum to 2^15 — then `(sum + 2^14) >> 15`). The older 14-bit table
 *   (4899/9617/1868) differs on 43 864 of the 2^24 colours.
 * - threshold: OpenCV's `getThreshVal_Otsu_8u` loop over the 256-bin histogram, in doubles, with
 *   its `FLT_EPSILON` guard on the class weights; the first bin that strictly maximises the
 *   between-class variance wins ties; a histogram with a single value gives 0.
 *
 * @module
 */

import { otsuWasm } from "./otsu_wasm.ts";

/** OpenCV's 15-bit BT.601 weights for 8-bit RGB → grey. */
export const GREY_WEIGHTS_15 = { r: 9798, g: 19235, b: 3735 } as const;

const FLT_EPSILON = 1.1920928955078125e-7;

/**
 * RGB (HWC, 8-bit) → grey, exactly as OpenCV `cvtColor(COLOR_RGB2GRAY)`.
 *
 * @param rgbHWC interleaved RGB, length a multiple of 3
 * @param out optional output of length `rgbHWC.length / 3`
 * @example
 * ```ts
 * import { rgbToGrey } from "./otsu.ts";
 * const g = rgbToGrey(new Uint8Array([255, 255, 255, 255, 0, 0]));
 * console.assert(g[0] === 255 && g[1] === 76);
 * ```
 */
export function rgbToGrey(rgbHWC: Uint8Array, out?: Uint8Array): Uint8Array {
  if (rgbHWC.length % 3 !== 0) {
    throw new RangeError(`rgbToGrey: length ${rgbHWC.length} is not a multiple of 3`);
  }
  const n = rgbHWC.length / 3;
  const grey = out ?? new Uint8Array(n);
  if (grey.length !== n) {
    throw new RangeError(`rgbToGrey: output has ${grey.length} pixels, need ${n}`);
  }
  const { r: wr, g: wg, b: wb } = GREY_WEIGHTS_15;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    // max sum 255·32768 + 16384 < 2^31: int arithmetic is exact
    grey[i] = (rgbHWC[j] * wr + rgbHWC[j + 1] * wg + rgbHWC[j + 2] * wb + 16384) >> 15;
  }
  return grey;
}

/**
 * 256-bin histogram of an 8-bit image.
 *
 * @example
 * ```ts
 * import { greyHistogram } from "./otsu.ts";
 * console.assert(greyHistogram(new Uint8Array([3, 3, 7]))[3] === 2);
 * ```
 */
export function greyHistogram(grey: Uint8Array, out?: Float64Array): Float64Array {
  const hist = out ?? new Float64Array(256);
  hist.fill(0);
  // Counting in an Int32Array is faster than in doubles; tiles are far below 2^31 pixels.
  const counts = new Int32Array(256);
  for (let i = 0; i < grey.length; i++) counts[grey[i]]++;
  for (let v = 0; v < 256; v++) hist[v] = counts[v];
  return hist;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * {@linkcode rgbToGrey} and {@linkcode greyHistogram} in one pass — the same bytes and counts,
 * faster: it reads the RGB bytes as 32-bit words (4 pixels per 3 words, when the array is
 * 4-byte aligned on a little-endian machine) and counts into four interleaved histograms to
 * break the store-to-load chain between neighbouring pixels of equal grey.
 *
 * @example
 * ```ts
 * import { rgbToGreyHistogram } from "./otsu.ts";
 * const grey = new Uint8Array(2), hist = new Float64Array(256);
 * rgbToGreyHistogram(new Uint8Array([255, 255, 255, 255, 0, 0]), grey, hist);
 * console.assert(grey[1] === 76 && hist[255] === 1 && hist[76] === 1);
 * ```
 */
export function rgbToGreyHistogram(
  rgbHWC: Uint8Array,
  grey: Uint8Array,
  hist: Float64Array,
): void {
  const n = rgbHWC.length / 3;
  if (rgbHWC.length % 3 !== 0 || grey.length !== n || hist.length !== 256) {
    throw new RangeError(
      `rgbToGreyHistogram: ${rgbHWC.length} RGB bytes, ${grey.length} grey, ${hist.length} bins`,
    );
  }
  const { r: wr, g: wg, b: wb } = GREY_WEIGHTS_15;
  const c = new Int32Array(1024); // four histograms, interleaved: bin v of k at 4·v + k
  let i = 0;
  if (LITTLE_ENDIAN && rgbHWC.byteOffset % 4 === 0) {
    const w = new Uint32Array(rgbHWC.buffer, rgbHWC.byteOffset, (n >> 2) * 3);
    for (let k = 0; i + 4 <= n; i += 4, k += 3) {
      // bytes r0 g0 b0 r1 | g1 b1 r2 g2 | b2 r3 g3 b3, least significant first
      const a = w[k], b = w[k + 1], d = w[k + 2];
      const g0 = ((a & 255) * wr + ((a >>> 8) & 255) * wg + ((a >>> 16) & 255) * wb + 16384) >> 15;
      const g1 = ((a >>> 24) * wr + (b & 255) * wg + ((b >>> 8) & 255) * wb + 16384) >> 15;
      const g2 = (((b >>> 16) & 255) * wr + (b >>> 24) * wg + (d & 255) * wb + 16384) >> 15;
      const g3 = (((d >>> 8) & 255) * wr + ((d >>> 16) & 255) * wg + (d >>> 24) * wb + 16384) >> 15;
      grey[i] = g0;
      grey[i + 1] = g1;
      grey[i + 2] = g2;
      grey[i + 3] = g3;
      c[g0 << 2]++;
      c[(g1 << 2) | 1]++;
      c[(g2 << 2) | 2]++;
      c[(g3 << 2) | 3]++;
    }
  }
  for (let j = i * 3; i < n; i++, j += 3) {
    const g = (rgbHWC[j] * wr + rgbHWC[j + 1] * wg + rgbHWC[j + 2] * wb + 16384) >> 15;
    grey[i] = g;
    c[g << 2]++;
  }
  for (let v = 0; v < 256; v++) hist[v] = c[4 * v] + c[4 * v + 1] + c[4 * v + 2] + c[4 * v + 3];
}

/**
 * The Otsu threshold of a 256-bin histogram, equal to OpenCV's `THRESH_OTSU` (including its tie
 * rule and degenerate cases: an empty or single-valued histogram gives 0).
 *
 * @example
 * ```ts
 * import { otsuThreshold } from "./otsu.ts";
 * const h = new Float64Array(256);
 * h[10] = 300; h[200] = 100;
 * console.assert(otsuThreshold(h) === 10);
 * ```
 */
export function otsuThreshold(hist: ArrayLike<number>): number {
  if (hist.length !== 256) throw new RangeError(`otsuThreshold: need 256 bins, got ${hist.length}`);
  let total = 0;
  for (let i = 0; i < 256; i++) total += hist[i];
  if (total === 0) return 0;
  const scale = 1 / total;
  let mu = 0;
  for (let i = 0; i < 256; i++) mu += i * hist[i];
  mu *= scale;
  let mu1 = 0, q1 = 0, maxSigma = 0, maxVal = 0;
  // Same statement order as OpenCV's getThreshVal_Otsu_8u, so the doubles round identically.
  for (let i = 0; i < 256; i++) {
    const pi = hist[i] * scale;
    mu1 *= q1;
    q1 += pi;
    const q2 = 1 - q1;
    if (Math.min(q1, q2) < FLT_EPSILON || Math.max(q1, q2) > 1 - FLT_EPSILON) continue;
    mu1 = (mu1 + i * pi) / q1;
    const mu2 = (mu - q1 * mu1) / q2;
    const sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
    if (sigma > maxSigma) {
      maxSigma = sigma;
      maxVal = i;
    }
  }
  return maxVal;
}

/**
 * Binary mask (0/1) of `grey > threshold`, or `grey <= threshold` when `invert`.
 *
 * @example
 * ```ts
 * import { thresholdMask } from "./otsu.ts";
 * console.assert(thresholdMask(new Uint8Array([5, 6]), 5)[1] === 1);
 * ```
 */
export function thresholdMask(
  grey: Uint8Array,
  threshold: number,
  opts: { invert?: boolean; out?: Uint8Array } = {},
): Uint8Array {
  const mask = opts.out ?? new Uint8Array(grey.length);
  if (mask.length !== grey.length) {
    throw new RangeError(`thresholdMask: output has ${mask.length} pixels, need ${grey.length}`);
  }
  const t = threshold | 0;
  // Branch-free: the sign bit of t − g is 1 exactly when g > t (and of g − t − 1 when g ≤ t).
  if (opts.invert) { for (let i = 0; i < grey.length; i++) mask[i] = (grey[i] - t - 1) >>> 31; }
  else for (let i = 0; i < grey.length; i++) mask[i] = (t - grey[i]) >>> 31;
  return mask;
}

/** Result of {@linkcode otsuMask}. */
export interface OtsuResult {
  threshold: number;
  /** 0/1 mask, one byte per pixel. */
  maskU8: Uint8Array;
}

/** Reusable buffers for {@linkcode otsuMask} on many tiles of one size. */
export interface OtsuScratch {
  /** Grey image (scalar path only; the SIMD path keeps it in wasm memory). */
  grey?: Uint8Array;
  hist?: Float64Array;
  mask?: Uint8Array;
}

/**
 * The whole Otsu baseline on one RGB tile: grey → histogram → threshold → mask.
 *
 * @param rgbHWC interleaved 8-bit RGB
 * Runs on the WebAssembly SIMD kernels of `otsu_wasm.ts` when the pixel count is a multiple of 16
 * (every prepared tile size), otherwise on the scalar functions above; both give the same bytes.
 *
 * @param opts `invert`: foreground is the dark side; `scratch`: buffers reused across calls (the
 *   returned mask then lives in `scratch.mask` and is overwritten by the next call); `simd`:
 *   false forces the scalar path (default true)
 * @example
 * ```ts
 * import { otsuMask } from "./otsu.ts";
 * const rgb = new Uint8Array([0, 0, 0, 250, 250, 250, 10, 10, 10, 240, 240, 240]);
 * const { threshold, maskU8 } = otsuMask(rgb);
 * console.assert(threshold === 10 && maskU8.join() === "0,1,0,1");
 * ```
 */
export function otsuMask(
  rgbHWC: Uint8Array,
  opts: { invert?: boolean; scratch?: OtsuScratch; simd?: boolean } = {},
): OtsuResult {
  if (rgbHWC.length % 3 !== 0) {
    throw new RangeError(`otsuMask: length ${rgbHWC.length} is not a multiple of 3`);
  }
  const n = rgbHWC.length / 3;
  const s = opts.scratch ?? {};
  if (s.mask?.length !== n) s.mask = new Uint8Array(n);
  s.hist ??= new Float64Array(256);
  const wasm = n % 16 === 0 && opts.simd !== false ? otsuWasm() : null;
  if (wasm) {
    wasm.greyHistogram(rgbHWC, s.hist);
    const threshold = otsuThreshold(s.hist);
    wasm.mask(threshold, opts.invert ?? false, s.mask);
    return { threshold, maskU8: s.mask };
  }
  if (s.grey?.length !== n) s.grey = new Uint8Array(n);
  rgbToGreyHistogram(rgbHWC, s.grey, s.hist);
  const threshold = otsuThreshold(s.hist);
  const maskU8 = thresholdMask(s.grey, threshold, { invert: opts.invert, out: s.mask });
  return { threshold, maskU8 };
}
