/**
 * Tile images as 8-bit RGB: `decodeImage` recognises PNG and TIFF by their magic bytes and hands
 * them to the decoders in `png.ts` and `tiff.ts`; `readImage` reads a file and decodes it.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { readInputFile } from "../io.ts";
import type { RgbImage } from "./rgb_image.ts";
import { decodePng, isPng } from "./png.ts";
import { decodeTiff, isTiff } from "./tiff.ts";

export type { RgbImage };

/**
 * Decodes a PNG or TIFF file (sniffed from its first bytes, not its name) into RGB.
 *
 * @param bytes the whole file
 * @param name the file name used in error messages, e.g. `train/0006ff2aa7cd.tif`
 * @throws {InputError} `name: why` when the format is unknown, unsupported or the file is corrupt
 *
 * @example
 * ```ts
 * import { decodeImage } from "./image.ts";
 * const bytes = await Deno.readFile("fixtures/real/0006ff2aa7cd.png");
 * const { width, height, rgb } = decodeImage(bytes, "0006ff2aa7cd.png");
 * console.assert(width === 512 && height === 512 && rgb.length === 512 * 512 * 3);
 * ```
 */
export function decodeImage(bytes: Uint8Array, name: string): RgbImage {
  if (isPng(bytes)) return decodePng(bytes, name);
  if (isTiff(bytes)) return decodeTiff(bytes, name);
  if (bytes.length === 0) {
    throw new InputError(name, undefined, "empty file, expected a PNG or TIFF image");
  }
  throw new InputError(name, undefined, "not a PNG or TIFF image (unknown magic bytes)");
}

/**
 * Reads and decodes a PNG or TIFF file. Errors name `path` as given.
 *
 * @throws {InputError} `path: no such file`, or any {@linkcode decodeImage} error
 *
 * @example
 * ```ts
 * import { readImage } from "./image.ts";
 * const img = await readImage("fixtures/tiff/crop_deflate.tif");
 * console.assert(img.width === 96 && img.height === 80);
 * ```
 */
export async function readImage(path: string): Promise<RgbImage> {
  return decodeImage(await readInputFile(path, "an image file"), path);
}
