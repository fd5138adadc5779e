/**
 * Bounds on sizes read from files, checked before anything is allocated: a header can claim any
 * size, and a small compressed file can describe a huge image. Tiles in the Kaggle data are
 * 512×512; these limits leave room for other tiles (a 8192×8192 RGB image is 192 MiB) while a
 * hostile header cannot make a task allocate gigabytes.
 *
 * @module
 */

/** Largest image side accepted, in pixels. */
export const MAX_IMAGE_SIDE = 16384;

/** Largest image accepted, in pixels (8192²). */
export const MAX_IMAGE_PIXELS = 2 ** 26;

/**
 * Why `width × height` is not an acceptable image size, or `undefined` when it is.
 *
 * @example
 * ```ts
 * import { imageSizeProblem } from "./limits.ts";
 * console.assert(imageSizeProblem(512, 512) === undefined);
 * console.assert(imageSizeProblem(60000, 60000) !== undefined);
 * ```
 */
export function imageSizeProblem(width: number, height: number): string | undefined {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    return `size ${width}×${height} is not a positive integer size`;
  }
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > MAX_IMAGE_PIXELS) {
    return `size ${width}×${height} is larger than this tool accepts (at most ` +
      `${MAX_IMAGE_SIDE} px a side and ${MAX_IMAGE_PIXELS} pixels)`;
  }
  return undefined;
}
