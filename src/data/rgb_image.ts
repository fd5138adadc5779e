/**
 * The decoded-image type shared by the codecs (`png.ts`, `tiff.ts`) and the dispatcher
 * (`image.ts`), in a module of its own so that the codecs need not import the dispatcher.
 *
 * @module
 */

/** An 8-bit RGB image, row-major HWC: pixel (x, y) channel c is `rgb[(y * width + x) * 3 + c]`. */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** `width * height * 3` bytes, RGB interleaved. */
  rgb: Uint8Array;
}
