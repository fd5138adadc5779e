/**
 * A small baseline-TIFF encoder for 8-bit RGB tiles, used by the synthetic data generator to write
 * `train/{id}.tif` files in the layout of the Kaggle HuBMAP data.
 *
 * The file is classic little-endian TIFF 6.0: one image, chunky RGB (PlanarConfiguration 1),
 * 8 bits per sample, horizontal strips of {@linkcode TiffWriteOptions.rowsPerStrip} rows,
 * compression none (1) or Adobe Deflate (8, zlib stream from `node:zlib`). The output depends only
 * on the pixels and options, so the same input always gives the same bytes.
 *
 * @module
 */
import { deflateSync } from "node:zlib";

/** Options for {@linkcode encodeTiff}. */
export interface TiffWriteOptions {
  /** `"deflate"` (Adobe Deflate, compression 8) or `"none"`. Default `"deflate"`. */
  compression?: "none" | "deflate";
  /** zlib level 0–9 for `"deflate"`. Default 6. */
  level?: number;
  /** Horizontal differencing predictor (TIFF tag 317 = 2) before deflate. Default false. */
  predictor?: boolean;
  /** Rows per strip. Default 64 (so a 512-row tile has 8 strips). */
  rowsPerStrip?: number;
}

const SHORT = 3;
const LONG = 4;
const RATIONAL = 5;

/**
 * Encodes `rgb` (HWC, 8-bit, `width·height·3` bytes) as a TIFF file.
 *
 * @example
 * ```ts
 * import { encodeTiff } from "./tiff_write.ts";
 * const bytes = encodeTiff(new Uint8Array(2 * 2 * 3), 2, 2, { compression: "none" });
 * console.assert(bytes[0] === 0x49 && bytes[2] === 42);
 * ```
 */
export function encodeTiff(
  rgb: Uint8Array,
  width: number,
  height: number,
  opts: TiffWriteOptions = {},
): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(
      `encodeTiff: width and height must be positive integers, got ${width}×${height}`,
    );
  }
  if (rgb.length !== width * height * 3) {
    throw new RangeError(
      `encodeTiff: expected ${
        width * height * 3
      } bytes for ${width}×${height} RGB, got ${rgb.length}`,
    );
  }
  const compression = opts.compression ?? "deflate";
  const level = opts.level ?? 6;
  const rowsPerStrip = Math.min(height, Math.max(1, Math.floor(opts.rowsPerStrip ?? 64)));
  const stripCount = Math.ceil(height / rowsPerStrip);
  const rowBytes = width * 3;
  const predictor = compression === "deflate" && (opts.predictor ?? false);

  const strips: Uint8Array[] = [];
  for (let s = 0; s < stripCount; s++) {
    const y0 = s * rowsPerStrip;
    const y1 = Math.min(height, y0 + rowsPerStrip);
    let raw = rgb.subarray(y0 * rowBytes, y1 * rowBytes);
    if (predictor) {
      // TIFF 6.0 §14: each sample minus the same sample of the pixel to its left, modulo 256.
      const diff = raw.slice();
      for (let y = 0; y < y1 - y0; y++) {
        const o = y * rowBytes;
        for (let x = rowBytes - 1; x >= 3; x--) diff[o + x] = (raw[o + x] - raw[o + x - 3]) & 255;
      }
      raw = diff;
    }
    strips.push(compression === "deflate" ? new Uint8Array(deflateSync(raw, { level })) : raw);
  }

  // Layout: header (8) | IFD | out-of-line values (BitsPerSample, resolutions, strip tables) | strips.
  const entries: [tag: number, type: number, count: number, value: number[]][] = [
    [256, LONG, 1, [width]],
    [257, LONG, 1, [height]],
    [258, SHORT, 3, [8, 8, 8]],
    [259, SHORT, 1, [compression === "deflate" ? 8 : 1]],
    [262, SHORT, 1, [2]], // RGB
    [273, LONG, stripCount, []], // StripOffsets, filled below
    [277, SHORT, 1, [3]],
    [278, LONG, 1, [rowsPerStrip]],
    [279, LONG, stripCount, strips.map((s) => s.length)],
    [282, RATIONAL, 1, [72, 1]],
    [283, RATIONAL, 1, [72, 1]],
    [284, SHORT, 1, [1]], // chunky
    [296, SHORT, 1, [2]], // inch
  ];
  if (predictor) entries.push([317, SHORT, 1, [2]]);
  const typeSize = (t: number) => (t === SHORT ? 2 : t === LONG ? 4 : 8);
  const ifdSize = 2 + entries.length * 12 + 4;
  let extra = 8 + ifdSize;
  const extraOffsets = new Map<number, number>();
  for (const [tag, type, count] of entries) {
    const size = typeSize(type) * count;
    if (size > 4) {
      extraOffsets.set(tag, extra);
      extra += size + (size & 1);
    }
  }
  let dataOffset = extra;
  const stripOffsets: number[] = [];
  for (const s of strips) {
    stripOffsets.push(dataOffset);
    dataOffset += s.length;
  }
  entries[5][3] = stripOffsets;

  const out = new Uint8Array(dataOffset);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  view.setUint32(4, 8, true);
  view.setUint16(8, entries.length, true);
  const writeValues = (at: number, type: number, values: number[]) => {
    for (let i = 0; i < values.length; i++) {
      if (type === SHORT) view.setUint16(at + 2 * i, values[i], true);
      else view.setUint32(at + 4 * i, values[i], true); // LONG, or RATIONAL as two LONGs
    }
  };
  entries.forEach(([tag, type, count, values], k) => {
    const at = 10 + 12 * k;
    view.setUint16(at, tag, true);
    view.setUint16(at + 2, type, true);
    view.setUint32(at + 4, count, true);
    const off = extraOffsets.get(tag);
    if (off === undefined) writeValues(at + 8, type, values);
    else {
      view.setUint32(at + 8, off, true);
      writeValues(off, type, values);
    }
  });
  view.setUint32(10 + 12 * entries.length, 0, true); // no next IFD
  strips.forEach((s, i) => out.set(s, stripOffsets[i]));
  return out;
}
