/**
 * A synchronous baseline-TIFF decoder for 8-bit tiles, written for this project because the npm
 * decoders either fail on common variants (imagescript, `tiff`, `utif2` on planar files) or are
 * asynchronous and slower (geotiff; see bench/README.md for the measurements).
 *
 * Covered (first image of the file only): classic and BigTIFF, little and big endian; strips and
 * tiles; chunky and planar samples; compression none (1), LZW (5), Adobe Deflate (8), Deflate
 * (32946) and PackBits (32773); horizontal predictor (317 = 2); 8-bit unsigned samples; RGB with
 * or without extra samples (alpha is dropped, not composited) and grey (BlackIsZero or
 * WhiteIsZero, with or without alpha), both returned as RGB. Everything else — JPEG, palette,
 * CMYK, YCbCr, 16-bit or float samples, more than 4 samples — is rejected with an `InputError`
 * that says which tag and value; corrupt or truncated files give an `InputError` naming the
 * strip or tile and the byte offsets.
 *
 * @module
 */
import { imageSizeProblem } from "./limits.ts";
import { inflateSync } from "node:zlib";
import { InputError } from "../errors.ts";
import type { RgbImage } from "./rgb_image.ts";

const TAG = {
  width: 256,
  height: 257,
  bitsPerSample: 258,
  compression: 259,
  photometric: 262,
  fillOrder: 266,
  stripOffsets: 273,
  samplesPerPixel: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
  planarConfig: 284,
  predictor: 317,
  tileWidth: 322,
  tileLength: 323,
  tileOffsets: 324,
  tileByteCounts: 325,
  sampleFormat: 339,
} as const;

const COMPRESSION_NAMES: Record<number, string> = {
  1: "none",
  2: "CCITT RLE",
  3: "CCITT G3",
  4: "CCITT G4",
  5: "LZW",
  6: "old-style JPEG",
  7: "JPEG",
  8: "Adobe Deflate",
  32773: "PackBits",
  32946: "Deflate",
  34712: "JPEG 2000",
  34887: "LERC",
  34925: "LZMA",
  50000: "Zstd",
  50001: "WebP",
};

const PHOTOMETRIC_NAMES: Record<number, string> = {
  0: "WhiteIsZero",
  1: "BlackIsZero",
  2: "RGB",
  3: "palette colour",
  4: "transparency mask",
  5: "CMYK",
  6: "YCbCr",
  8: "CIELab",
};

/** Byte sizes of the TIFF field types; 0 marks an unknown type. */
const TYPE_SIZE = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8];

interface Entry {
  type: number;
  count: number;
  /** Byte offset of the value in the file (inline values point into the IFD entry). */
  at: number;
}

/** True when `bytes` starts with a TIFF or BigTIFF header (`II*\0`, `MM\0*`, `II+\0`, `MM\0+`). */
export function isTiff(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const le = bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[3] === 0;
  const be = bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0;
  if (le) return bytes[2] === 42 || bytes[2] === 43;
  if (be) return bytes[3] === 42 || bytes[3] === 43;
  return false;
}

/**
 * Decodes the first image of a TIFF file into 8-bit RGB (HWC).
 *
 * @param bytes the whole file
 * @param name the file name used in error messages
 * @throws {InputError} `name: why` for malformed, truncated or unsupported files
 *
 * @example
 * ```ts
 * import { decodeTiff } from "./tiff.ts";
 * const bytes = await Deno.readFile("fixtures/tiff/crop_lzw.tif");
 * const img = decodeTiff(bytes, "crop_lzw.tif");
 * console.assert(img.width === 96 && img.height === 80 && img.rgb.length === 96 * 80 * 3);
 * ```
 */
export function decodeTiff(bytes: Uint8Array, name: string): RgbImage {
  const fail = (detail: string): never => {
    throw new InputError(name, undefined, detail);
  };
  if (!isTiff(bytes)) fail("not a TIFF file (no II*/MM* header)");
  const size = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = bytes[0] === 0x49;
  const big = view.getUint16(2, le) === 43;
  const u16 = (at: number) => view.getUint16(at, le);
  const u32 = (at: number) => view.getUint32(at, le);
  const u64 = (at: number) => {
    const hi = view.getUint32(at + (le ? 4 : 0), le);
    const lo = view.getUint32(at + (le ? 0 : 4), le);
    if (hi >= 0x200000) fail(`offset at byte ${at} does not fit in 53 bits`);
    return hi * 0x100000000 + lo;
  };
  const headerSize = big ? 16 : 8;
  if (size < headerSize) fail(`truncated TIFF: header needs ${headerSize} bytes, file has ${size}`);
  if (big && (u16(4) !== 8 || u16(6) !== 0)) fail("BigTIFF header with offset size other than 8");
  const ifd = big ? u64(8) : u32(4);
  const countSize = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  if (ifd < headerSize || ifd + countSize > size) {
    fail(`truncated TIFF: first IFD at byte ${ifd}, file has ${size}`);
  }
  const nEntries = big ? u64(ifd) : u16(ifd);
  const ifdEnd = ifd + countSize + nEntries * entrySize;
  if (ifdEnd > size) {
    fail(`truncated TIFF: IFD of ${nEntries} entries ends at byte ${ifdEnd}, file has ${size}`);
  }

  const entries = new Map<number, Entry>();
  for (let k = 0; k < nEntries; k++) {
    const e = ifd + countSize + k * entrySize;
    const tag = u16(e);
    const type = u16(e + 2);
    const count = big ? u64(e + 4) : u32(e + 4);
    const inlineSize = big ? 8 : 4;
    const valueAt = e + (big ? 12 : 8);
    const itemSize = TYPE_SIZE[type] ?? 0;
    if (itemSize === 0) continue; // unknown field type: skip, as TIFF 6.0 asks readers to
    const total = itemSize * count;
    const at = total <= inlineSize ? valueAt : (big ? u64(valueAt) : u32(valueAt));
    entries.set(tag, { type, count, at });
  }

  /** Reads an integer-typed field (BYTE, SHORT, LONG, LONG8, IFD, IFD8) as numbers. */
  const ints = (tag: number, tagName: string): number[] | undefined => {
    const e = entries.get(tag);
    if (e === undefined) return undefined;
    const itemSize = TYPE_SIZE[e.type];
    const end = e.at + itemSize * e.count;
    if (end > size) {
      fail(`truncated TIFF: tag ${tagName} (${tag}) ends at byte ${end}, file has ${size}`);
    }
    const out = new Array<number>(e.count);
    for (let i = 0; i < e.count; i++) {
      const at = e.at + i * itemSize;
      switch (e.type) {
        case 1:
        case 7:
          out[i] = bytes[at];
          break;
        case 3:
          out[i] = u16(at);
          break;
        case 4:
        case 13:
          out[i] = u32(at);
          break;
        case 16:
        case 18:
          out[i] = u64(at);
          break;
        default:
          fail(`tag ${tagName} (${tag}) has non-integer field type ${e.type}`);
      }
    }
    return out;
  };
  const one = (tag: number, tagName: string, fallback?: number): number => {
    const v = ints(tag, tagName);
    if (v === undefined || v.length === 0) {
      if (fallback === undefined) fail(`missing required tag ${tagName} (${tag})`);
      return fallback as number;
    }
    return v[0];
  };

  const width = one(TAG.width, "ImageWidth");
  const height = one(TAG.height, "ImageLength");
  if (width === 0 || height === 0) fail(`empty image: ${width}×${height}`);
  const tooLarge = imageSizeProblem(width, height);
  if (tooLarge !== undefined) fail(`image ${tooLarge}`);
  const spp = one(TAG.samplesPerPixel, "SamplesPerPixel", 1);
  if (spp < 1 || spp > 4) fail(`SamplesPerPixel is ${spp}; only 1 to 4 samples are supported`);
  const bits = ints(TAG.bitsPerSample, "BitsPerSample") ?? [1];
  if (bits.some((b) => b !== 8)) {
    fail(`BitsPerSample is ${bits.join(",")}; only 8-bit samples are supported`);
  }
  const formats = ints(TAG.sampleFormat, "SampleFormat") ?? [1];
  if (formats.some((f) => f !== 1)) {
    fail(`SampleFormat is ${formats.join(",")}; only unsigned integer samples (1) are supported`);
  }
  const compression = one(TAG.compression, "Compression", 1);
  const compressionName = COMPRESSION_NAMES[compression] ?? `code ${compression}`;
  if (![1, 5, 8, 32773, 32946].includes(compression)) {
    const hint = compression === 6 || compression === 7
      ? "; convert the tile to PNG or a lossless TIFF (e.g. LZW or Deflate)"
      : "";
    fail(
      `${compressionName}-compressed TIFF (Compression ${compression}) is not supported: ` +
        `only none, LZW, Deflate and PackBits are${hint}`,
    );
  }
  const photometric = one(TAG.photometric, "PhotometricInterpretation", spp >= 3 ? 2 : 1);
  const isRgb = photometric === 2;
  if (!isRgb && photometric !== 0 && photometric !== 1) {
    fail(
      `PhotometricInterpretation ${photometric} (${
        PHOTOMETRIC_NAMES[photometric] ?? "unknown"
      }) is not supported: only RGB and grey`,
    );
  }
  if (isRgb && spp < 3) fail(`RGB image with ${spp} samples per pixel`);
  const fillOrder = one(TAG.fillOrder, "FillOrder", 1);
  if (fillOrder !== 1) fail(`FillOrder ${fillOrder} is not supported`);
  const planar = one(TAG.planarConfig, "PlanarConfiguration", 1);
  if (planar !== 1 && planar !== 2) fail(`PlanarConfiguration ${planar} is not 1 or 2`);
  const predictor = one(TAG.predictor, "Predictor", 1);
  if (predictor !== 1 && predictor !== 2) {
    fail(`Predictor ${predictor} is not supported: only none (1) and horizontal (2)`);
  }

  const tiled = entries.has(TAG.tileOffsets);
  let segW: number, segH: number, across: number, down: number;
  if (tiled) {
    segW = one(TAG.tileWidth, "TileWidth");
    segH = one(TAG.tileLength, "TileLength");
    if (segW === 0 || segH === 0) fail(`tile size ${segW}×${segH}`);
    if (segW * segH > 1 << 26) fail(`tile size ${segW}×${segH} is too large`);
    across = Math.ceil(width / segW);
    down = Math.ceil(height / segH);
  } else {
    segW = width;
    segH = Math.min(one(TAG.rowsPerStrip, "RowsPerStrip", height), height);
    if (segH === 0) fail("RowsPerStrip is 0");
    across = 1;
    down = Math.ceil(height / segH);
  }
  const kind = tiled ? "tile" : "strip";
  const offsets = ints(
    tiled ? TAG.tileOffsets : TAG.stripOffsets,
    tiled ? "TileOffsets" : "StripOffsets",
  );
  const counts = ints(
    tiled ? TAG.tileByteCounts : TAG.stripByteCounts,
    tiled ? "TileByteCounts" : "StripByteCounts",
  );
  if (offsets === undefined) fail(`missing ${tiled ? "TileOffsets" : "StripOffsets"}`);
  if (counts === undefined) fail(`missing ${tiled ? "TileByteCounts" : "StripByteCounts"}`);
  const planes = planar === 2 ? spp : 1;
  const perPlane = across * down;
  const needed = perPlane * planes;
  if (offsets!.length < needed || counts!.length < needed) {
    fail(`${needed} ${kind}s needed, file lists ${Math.min(offsets!.length, counts!.length)}`);
  }

  // Planes beyond the colour ones (alpha) are never decoded.
  const colourSamples = isRgb ? 3 : 1;
  const usedPlanes = planar === 2 ? colourSamples : 1;
  const segSamples = planar === 2 ? 1 : spp; // samples per pixel inside one segment
  const rgb = new Uint8Array(width * height * 3);
  const invert = photometric === 0;
  let scratch = new Uint8Array(0);

  for (let plane = 0; plane < usedPlanes; plane++) {
    for (let s = 0; s < perPlane; s++) {
      const index = plane * perPlane + s;
      const tx = s % across;
      const ty = Math.floor(s / across);
      const x0 = tx * segW;
      const y0 = ty * segH;
      const rows = tiled ? segH : Math.min(segH, height - y0);
      const rowBytes = segW * segSamples;
      const expected = rows * rowBytes;
      const start = offsets![index];
      const count = counts![index];
      const end = start + count;
      if (end > size) {
        fail(`truncated TIFF: ${kind} ${index} ends at byte ${end}, file has ${size}`);
      }
      const src = bytes.subarray(start, end);
      let seg: Uint8Array;
      if (compression === 1) {
        if (count < expected) {
          fail(`${kind} ${index} has ${count} bytes, expected ${expected}`);
        }
        seg = predictor === 2 ? src.slice(0, expected) : src;
      } else {
        if (scratch.length < expected + 4096) scratch = new Uint8Array(expected + 4096);
        let got: number;
        if (compression === 5) {
          got = lzwDecode(src, scratch, expected);
          if (got < 0) fail(`${kind} ${index}: corrupt LZW data (invalid code)`);
        } else if (compression === 32773) {
          got = packBitsDecode(src, scratch, expected);
        } else {
          let inflated: Uint8Array;
          // A cap on the output keeps a corrupt or hostile stream from inflating without bound;
          // a full-height segment plus slack allows writers that pad the last strip.
          const cap = segH * rowBytes + 65536;
          try {
            inflated = inflateSync(src, { maxOutputLength: cap });
          } catch (e) {
            if (e instanceof RangeError) {
              return fail(`${kind} ${index}: Deflate data inflates to more than ${cap} bytes`);
            }
            const why = e instanceof Error ? e.message : String(e);
            return fail(`${kind} ${index}: corrupt Deflate data (${why})`);
          }
          got = Math.min(inflated.length, expected);
          scratch.set(inflated.subarray(0, got));
        }
        if (got < expected) {
          fail(`${kind} ${index} decodes to ${got} bytes, expected ${expected}`);
        }
        seg = scratch;
      }
      if (predictor === 2) undoHorizontalPredictor(seg, rows, segW, segSamples);
      // Copy the valid part of the segment into the RGB output.
      const cols = Math.min(segW, width - x0);
      const validRows = Math.min(rows, height - y0);
      for (let r = 0; r < validRows; r++) {
        const from = r * rowBytes;
        const to = ((y0 + r) * width + x0) * 3;
        if (planar === 2 && isRgb) {
          for (let c = 0, o = to + plane; c < cols; c++, o += 3) rgb[o] = seg[from + c];
        } else if (isRgb && segSamples === 3) {
          rgb.set(seg.subarray(from, from + cols * 3), to);
        } else if (isRgb) {
          for (let c = 0, i = from, o = to; c < cols; c++, i += segSamples, o += 3) {
            rgb[o] = seg[i];
            rgb[o + 1] = seg[i + 1];
            rgb[o + 2] = seg[i + 2];
          }
        } else {
          for (let c = 0, i = from, o = to; c < cols; c++, i += segSamples, o += 3) {
            const g = invert ? 255 - seg[i] : seg[i];
            rgb[o] = g;
            rgb[o + 1] = g;
            rgb[o + 2] = g;
          }
        }
      }
    }
  }
  return { width, height, rgb };
}

/** Undoes TIFF horizontal differencing (Predictor 2) on 8-bit rows, in place. */
function undoHorizontalPredictor(
  seg: Uint8Array,
  rows: number,
  rowPixels: number,
  samples: number,
): void {
  const rowBytes = rowPixels * samples;
  // Running sums per sample kept in locals (one load and one store per byte).
  for (let r = 0; r < rows; r++) {
    const start = r * rowBytes, end = start + rowBytes;
    for (let c = 0; c < samples && start + c < end; c++) {
      let acc = seg[start + c];
      for (let i = start + c + samples; i < end; i += samples) {
        acc = (acc + seg[i]) & 255;
        seg[i] = acc;
      }
    }
  }
}

/**
 * PackBits (TIFF compression 32773): a header byte n in 0..127 copies n + 1 literal bytes, n in
 * −127..−1 repeats the next byte 1 − n times, −128 is a no-op. Returns bytes written (≤ `want`).
 */
function packBitsDecode(src: Uint8Array, out: Uint8Array, want: number): number {
  let i = 0;
  let o = 0;
  while (i < src.length && o < want) {
    const n = (src[i++] << 24) >> 24;
    if (n >= 0) {
      const len = Math.min(n + 1, src.length - i, want - o);
      out.set(src.subarray(i, i + len), o);
      i += n + 1;
      o += len;
    } else if (n !== -128) {
      if (i >= src.length) break;
      const len = Math.min(1 - n, want - o);
      out.fill(src[i++], o, o + len);
      o += len;
    }
  }
  return o;
}

// LZW string table shared by all calls: entry k is the string of entry prefix[k] followed by
// byte suffix[k]; length[k] is its length and first[k] its first byte.
const lzwPrefix = new Uint16Array(4096);
const lzwSuffix = new Uint8Array(4096);
const lzwFirst = new Uint8Array(4096);
const lzwLength = new Uint16Array(4096);
for (let i = 0; i < 256; i++) {
  lzwSuffix[i] = i;
  lzwFirst[i] = i;
  lzwLength[i] = 1;
}

/**
 * TIFF LZW (TIFF 6.0 section 13): MSB-first codes of 9–12 bits, 256 = Clear, 257 = EOI, and the
 * "early change" (the code width grows one code before the table fills), as libtiff writes it.
 * Writes up to `want` bytes (`out` must have 4096 bytes of slack past `want`); returns the number
 * written, or −1 on an invalid code.
 */
function lzwDecode(src: Uint8Array, out: Uint8Array, want: number): number {
  let bitBuf = 0;
  let bitCount = 0;
  let i = 0;
  let o = 0;
  let width = 9;
  let next = 258;
  let old = -1;
  const n = src.length;
  while (o < want) {
    while (bitCount < width) {
      if (i >= n) return o;
      bitBuf = ((bitBuf & 0xffff) << 8) | src[i++];
      bitCount += 8;
    }
    bitCount -= width;
    const code = (bitBuf >>> bitCount) & ((1 << width) - 1);
    if (code === 257) break;
    if (code === 256) {
      width = 9;
      next = 258;
      old = -1;
      continue;
    }
    if (old === -1) {
      if (code > 255) return -1;
      out[o++] = code;
      old = code;
      continue;
    }
    let emit: number;
    if (code < next) {
      emit = code;
      if (next < 4096) {
        lzwPrefix[next] = old;
        lzwSuffix[next] = lzwFirst[code];
        lzwFirst[next] = lzwFirst[old];
        lzwLength[next] = lzwLength[old] + 1;
        next++;
      }
    } else if (code === next && next < 4096) {
      lzwPrefix[next] = old;
      lzwSuffix[next] = lzwFirst[old];
      lzwFirst[next] = lzwFirst[old];
      lzwLength[next] = lzwLength[old] + 1;
      next++;
      emit = code;
    } else {
      return -1;
    }
    // Write the string of `emit` back to front.
    const len = lzwLength[emit];
    let c = emit;
    for (let k = o + len - 1; k >= o; k--) {
      out[k] = lzwSuffix[c];
      c = lzwPrefix[c];
    }
    o += len;
    old = code;
    if (next + 1 >= 1 << width && width < 12) width++;
  }
  return o;
}
