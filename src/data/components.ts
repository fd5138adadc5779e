/**
 * Connected components of binary masks, shared by the submission's instances
 * (`src/predict/instances.ts`) and the browser page's vessel count (`web/`): 8-connectivity, as
 * OpenCV's `connectedComponents(…, 8)` and the competition's instances.
 *
 * @module
 */

/**
 * 8-connected component labels of a binary mask (nonzero = set): `labels[i]` is 0 for background,
 * else 1…`count`, numbered in raster order of each component's first pixel.
 *
 * @example
 * ```ts
 * import { labelComponents } from "./components.ts";
 * // diagonal neighbours are connected: one component
 * const { count } = labelComponents(new Uint8Array([1, 0, 0, 1]), 2, 2);
 * console.assert(count === 1);
 * ```
 */
export function labelComponents(
  maskU8: Uint8Array,
  width: number,
  height: number,
): { labels: Int32Array; count: number } {
  if (maskU8.length !== width * height) {
    throw new RangeError(`mask has ${maskU8.length} bytes, expected ${width}×${height}`);
  }
  const labels = new Int32Array(width * height);
  const stack = new Int32Array(width * height);
  let count = 0;
  for (let start = 0; start < labels.length; start++) {
    if (maskU8[start] === 0 || labels[start] !== 0) continue;
    count++;
    labels[start] = count;
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const p = stack[--top];
      const x = p % width, y = (p - x) / width;
      const y0 = y > 0 ? y - 1 : 0, y1 = y < height - 1 ? y + 1 : y;
      const x0 = x > 0 ? x - 1 : 0, x1 = x < width - 1 ? x + 1 : x;
      for (let ny = y0; ny <= y1; ny++) {
        for (let nx = x0; nx <= x1; nx++) {
          const q = ny * width + nx;
          if (maskU8[q] !== 0 && labels[q] === 0) {
            labels[q] = count;
            stack[top++] = q;
          }
        }
      }
    }
  }
  return { labels, count };
}

/**
 * Number of 8-connected components of the nonzero pixels of `mask` (row-major, `widthPx` wide):
 * the vessel count.
 *
 * @example
 * ```ts
 * import { countComponents8 } from "./components.ts";
 * // two pixels touching at a corner are one component
 * console.assert(countComponents8(new Uint8Array([1, 0, 0, 1]), 2, 2) === 1);
 * ```
 */
export function countComponents8(mask: Uint8Array, widthPx: number, heightPx: number): number {
  return labelComponents(mask, widthPx, heightPx).count;
}

/**
 * The bounding box `[x0, y0, x1, y1]` (inclusive) of row-major pixel indices in a `width`-wide
 * image.
 *
 * @example
 * ```ts
 * import { pixelBounds } from "./components.ts";
 * console.assert(pixelBounds(Int32Array.of(1, 5), 4).join() === "1,0,1,1");
 * ```
 */
export function pixelBounds(pixels: Int32Array, width: number): [number, number, number, number] {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const p of pixels) {
    const x = p % width, y = (p - x) / width;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return [x0, y0, x1, y1];
}
