/**
 * Instances from a probability map, as the submission lists them:
 *
 * 1. threshold: a pixel is vessel when its probability is **above** `threshold` (as `deno task
 *    evaluate` does);
 * 2. 8-connected components of the vessel pixels (OpenCV `connectedComponents(…, 8)` semantics),
 *    numbered in raster order of their first pixel;
 * 3. components with fewer than `minArea` pixels are dropped (before dilation);
 * 4. each remaining component is dilated on its own by `dilate` pixels with a **square**
 *    `(2N+1)×(2N+1)` structuring element (OpenCV `dilate` with a ones kernel, i.e. Chebyshev
 *    distance ≤ N), clipped to the tile; dilated instances may overlap, as the competition
 *    allows;
 * 5. confidence = the mean probability over the instance's final (dilated) pixels.
 *
 * An instance is its pixels' row-major indices, in increasing order.
 *
 * @module
 */
import { labelComponents, pixelBounds } from "../data/components.ts";
import { binarize, DEFAULT_THRESHOLD } from "../metrics/binarize.ts";

/** One instance of a tile. */
export interface Instance {
  /** Row-major pixel indices (`y · width + x`), increasing. */
  pixels: Int32Array;
  /** Mean probability over `pixels`. */
  confidence: number;
}

/** Options of {@linkcode extractInstances}. */
export interface InstanceOptions {
  /** Vessel when probability > threshold. Default {@linkcode DEFAULT_THRESHOLD}. */
  threshold?: number;
  /** Drop components with fewer pixels (before dilation). Default 0. */
  minArea?: number;
  /** Square dilation radius in pixels. Default 0. */
  dilate?: number;
}

/**
 * Square dilation of a set of pixels by `radius` (Chebyshev distance ≤ radius), clipped to the
 * image; returns row-major indices in increasing order.
 *
 * @example
 * ```ts
 * import { dilatePixels } from "./instances.ts";
 * // the centre of a 3×3 image grows into the whole image
 * console.assert(dilatePixels(Int32Array.of(4), 3, 3, 1).length === 9);
 * ```
 */
export function dilatePixels(
  pixels: Int32Array,
  width: number,
  height: number,
  radius: number,
): Int32Array {
  if (radius <= 0 || pixels.length === 0) return pixels;
  const [x0, y0, x1, y1] = pixelBounds(pixels, width);
  // work in the bounding box grown by radius, clipped
  const bx0 = Math.max(0, x0 - radius), by0 = Math.max(0, y0 - radius);
  const bx1 = Math.min(width - 1, x1 + radius), by1 = Math.min(height - 1, y1 + radius);
  const bw = bx1 - bx0 + 1, bh = by1 - by0 + 1;
  const src = new Uint8Array(bw * bh);
  for (const p of pixels) {
    const x = p % width, y = (p - x) / width;
    src[(y - by0) * bw + (x - bx0)] = 1;
  }
  // separable: rows then columns (a square kernel is the product of two 1-D ones)
  const tmp = new Uint8Array(bw * bh);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      if (src[y * bw + x] === 0) continue;
      const a = Math.max(0, x - radius), b = Math.min(bw - 1, x + radius);
      tmp.fill(1, y * bw + a, y * bw + b + 1);
    }
  }
  const dst = new Uint8Array(bw * bh);
  for (let x = 0; x < bw; x++) {
    for (let y = 0; y < bh; y++) {
      if (tmp[y * bw + x] === 0) continue;
      const a = Math.max(0, y - radius), b = Math.min(bh - 1, y + radius);
      for (let yy = a; yy <= b; yy++) dst[yy * bw + x] = 1;
    }
  }
  const out: number[] = [];
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) if (dst[y * bw + x]) out.push((y + by0) * width + x + bx0);
  }
  return Int32Array.from(out);
}

/**
 * The instances of a probability map (see the module doc for the rules), in component order.
 *
 * @param probF32 row-major `[height, width]` probabilities
 *
 * @example
 * ```ts
 * import { extractInstances } from "./instances.ts";
 * const prob = new Float32Array([0.9, 0.1, 0.1, 0.7]); // 2×2, one diagonal component
 * const [inst] = extractInstances(prob, 2, 2);
 * console.assert(inst.pixels.length === 2 && Math.abs(inst.confidence - 0.8) < 1e-6);
 * ```
 */
export function extractInstances(
  probF32: Float32Array,
  width: number,
  height: number,
  opts: InstanceOptions = {},
): Instance[] {
  const minArea = opts.minArea ?? 0;
  const radius = opts.dilate ?? 0;
  const mask = binarize(probF32, opts.threshold ?? DEFAULT_THRESHOLD);
  const { labels, count } = labelComponents(mask, width, height);
  const sizes = new Int32Array(count + 1);
  for (let i = 0; i < labels.length; i++) sizes[labels[i]]++;
  const members: Int32Array[] = [];
  const fill = new Int32Array(count + 1);
  for (let k = 1; k <= count; k++) members[k] = new Int32Array(sizes[k]);
  for (let i = 0; i < labels.length; i++) {
    const k = labels[i];
    if (k !== 0) members[k][fill[k]++] = i;
  }
  const out: Instance[] = [];
  for (let k = 1; k <= count; k++) {
    if (sizes[k] < minArea) continue;
    const pixels = dilatePixels(members[k], width, height, radius);
    let sum = 0;
    for (const p of pixels) sum += probF32[p];
    out.push({ pixels, confidence: sum / pixels.length });
  }
  return out;
}
