/**
 * PNG codec: a synchronous decoder for 8-bit non-interlaced PNGs (grey, grey + alpha, RGB, RGBA,
 * palette) returning RGB, and a deterministic encoder for 1-, 3- and 4-channel 8-bit images.
 * zlib comes from `node:zlib` (built into Deno). imagescript's PNG codec also works but is
 * asynchronous; the measurements are in bench/README.md.
 *
 * @module
 */
import { imageSizeProblem } from "./limits.ts";
import { deflate, deflateSync, inflateSync } from "node:zlib";
import { InputError } from "../errors.ts";
import type { RgbImage } from "./rgb_image.ts";
import { crc32 } from "../crc32.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when `bytes` starts with the 8-byte PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes an 8-bit, non-interlaced PNG into RGB (HWC). Grey is replicated into three channels,
 * alpha is dropped (not composited), palette indices are looked up.
 *
 * @param bytes the whole file
 * @param name the file name used in error messages
 * @throws {InputError} `name: why` for malformed, truncated or unsupported files
 *
 * @example
 * ```ts
 * import { decodePng, encodePng } from "./png.ts";
 * const png = encodePng(new Uint8Array([0, 128, 255, 7]), 2, 2, 1);
 * const img = decodePng(png, "tiny.png");
 * console.assert(img.rgb[3] === 128 && img.rgb.length === 12);
 * ```
 */
export function decodePng(bytes: Uint8Array, name: string): RgbImage {
  const fail = (detail: string): never => {
    throw new InputError(name, undefined, detail);
  };
  if (!isPng(bytes)) fail("not a PNG file (bad signature)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let idatBytes = 0;
  let ended = false;
  while (pos < bytes.length) {
    if (pos + 8 > bytes.length) fail(`truncated PNG: chunk header at byte ${pos}`);
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const end = pos + 12 + len;
    if (end > bytes.length) {
      fail(
        `truncated PNG: chunk ${type} at byte ${pos} ends at byte ${end}, file has ${bytes.length}`,
      );
    }
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      if (len < 13) fail("IHDR chunk too short");
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      const depth = data[8];
      colorType = data[9];
      if (![0, 2, 3, 4, 6].includes(colorType)) fail(`unknown colour type ${colorType}`);
      if (depth !== 8) fail(`bit depth ${depth}; only 8-bit PNGs are supported`);
      if (data[10] !== 0 || data[11] !== 0) fail("unknown compression or filter method");
      if (data[12] !== 0) fail("interlaced (Adam7) PNGs are not supported");
      if (width === 0 || height === 0) fail(`empty image: ${width}×${height}`);
      const tooLarge = imageSizeProblem(width, height);
      if (tooLarge !== undefined) fail(`image ${tooLarge}`);
    } else if (type === "PLTE") {
      palette = data;
    } else if (type === "IDAT") {
      idat.push(data);
      idatBytes += len;
    } else if (type === "IEND") {
      ended = true;
      break;
    }
    pos = end;
  }
  if (colorType < 0) fail("missing IHDR chunk");
  if (idat.length === 0) fail("no IDAT chunk (no image data)");
  if (!ended) fail("truncated PNG: no IEND chunk");
  const channels = [1, 0, 3, 1, 2, 0, 4][colorType];
  if (colorType === 3 && palette === undefined) fail("palette PNG without a PLTE chunk");
  const compressed = new Uint8Array(idatBytes);
  for (let k = 0, o = 0; k < idat.length; o += idat[k].length, k++) compressed.set(idat[k], o);
  const stride = width * channels;
  let raw: Uint8Array;
  const cap = height * (stride + 1) + 65536; // bounded output, whatever the stream claims
  try {
    raw = inflateSync(compressed, { maxOutputLength: cap });
  } catch (e) {
    if (e instanceof RangeError) return fail(`image data inflates to more than ${cap} bytes`);
    return fail(`corrupt image data (${e instanceof Error ? e.message : String(e)})`);
  }
  if (raw.length < height * (stride + 1)) {
    fail(`image data has ${raw.length} bytes, expected ${height * (stride + 1)}`);
  }
  // Undo the per-row filters row by row into `pix`; the first `bpp` bytes of a row have no left
  // neighbour and the first row has none above (a row of zeros stands in).
  const pix = new Uint8Array(height * stride);
  const bpp = channels;
  const zeros = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = pix.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pix.subarray((y - 1) * stride, y * stride) : zeros;
    switch (filter) {
      case 0:
        cur.set(src);
        break;
      case 1:
        for (let i = 0; i < bpp; i++) cur[i] = src[i];
        for (let i = bpp; i < stride; i++) cur[i] = src[i] + cur[i - bpp];
        break;
      case 2:
        for (let i = 0; i < stride; i++) cur[i] = src[i] + prev[i];
        break;
      case 3:
        for (let i = 0; i < bpp; i++) cur[i] = src[i] + (prev[i] >> 1);
        for (let i = bpp; i < stride; i++) cur[i] = src[i] + ((cur[i - bpp] + prev[i]) >> 1);
        break;
      case 4:
        for (let i = 0; i < bpp; i++) cur[i] = src[i] + prev[i];
        for (let i = bpp; i < stride; i++) {
          cur[i] = src[i] + paeth(cur[i - bpp], prev[i], prev[i - bpp]);
        }
        break;
      default:
        fail(`row ${y} has unknown filter type ${filter}`);
    }
  }
  if (colorType === 2) return { width, height, rgb: pix };
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  if (colorType === 3) {
    const pal = palette!;
    const entries = Math.floor(pal.length / 3);
    for (let p = 0; p < n; p++) {
      const k = pix[p];
      if (k >= entries) fail(`pixel ${p} uses palette index ${k}, palette has ${entries}`);
      rgb[p * 3] = pal[k * 3];
      rgb[p * 3 + 1] = pal[k * 3 + 1];
      rgb[p * 3 + 2] = pal[k * 3 + 2];
    }
  } else if (colorType === 6) {
    for (let p = 0; p < n; p++) {
      rgb[p * 3] = pix[p * 4];
      rgb[p * 3 + 1] = pix[p * 4 + 1];
      rgb[p * 3 + 2] = pix[p * 4 + 2];
    }
  } else {
    for (let p = 0; p < n; p++) {
      const g = pix[p * channels];
      rgb[p * 3] = g;
      rgb[p * 3 + 1] = g;
      rgb[p * 3 + 2] = g;
    }
  }
  return { width, height, rgb };
}

/**
 * Writes row `cur` filtered with filter `f` into `out` and returns the sum of |filtered byte| (as
 * signed), libpng's selection heuristic. One tight loop per filter: this runs five times per row.
 */
function filterRow(
  f: number,
  cur: Uint8Array,
  prev: Uint8Array,
  bpp: number,
  out: Uint8Array,
): number {
  const n = cur.length;
  const head = Math.min(bpp, n);
  switch (f) {
    case 0:
      for (let i = 0; i < n; i++) out[i] = cur[i];
      break;
    case 1:
      for (let i = 0; i < head; i++) out[i] = cur[i];
      for (let i = head; i < n; i++) out[i] = cur[i] - cur[i - bpp];
      break;
    case 2:
      for (let i = 0; i < n; i++) out[i] = cur[i] - prev[i];
      break;
    case 3:
      for (let i = 0; i < head; i++) out[i] = cur[i] - (prev[i] >> 1);
      for (let i = head; i < n; i++) out[i] = cur[i] - ((cur[i - bpp] + prev[i]) >> 1);
      break;
    default:
      for (let i = 0; i < head; i++) out[i] = cur[i] - paeth(0, prev[i], 0);
      for (let i = head; i < n; i++) {
        out[i] = cur[i] - paeth(cur[i - bpp], prev[i], prev[i - bpp]);
      }
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = out[i];
    sum += v < 128 ? v : 256 - v;
  }
  return sum;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Options of {@linkcode encodePng}. */
export interface EncodePngOptions {
  /**
   * Row filters: `adaptive` (default) tries all five per row and keeps the one with the smallest
   * sum of absolute filtered values (libpng's heuristic); `none` stores rows as they are — for
   * 0/255 masks, which deflate compresses as well either way, it skips the search; `up` (filter
   * 2 on every row) is a fifth of the work of `adaptive` for smooth images such as probability
   * maps.
   */
  filter?: "adaptive" | "none" | "up";
}

/** The filtered scanlines (filter byte + row) that zlib compresses. */
function filterImage(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  options: EncodePngOptions = {},
): Uint8Array {
  const mode = options.filter ?? "adaptive";
  const adaptive = mode === "adaptive";
  const fixed = mode === "up" ? 2 : 0;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodePng: bad size ${width}×${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`encodePng: channels must be 1, 3 or 4, got ${channels}`);
  }
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new RangeError(
      `encodePng: ${pixels.length} bytes for ${width}×${height}×${channels}, ` +
        `expected ${stride * height}`,
    );
  }
  const filtered = new Uint8Array(height * (stride + 1));
  const zeros = new Uint8Array(stride); // the row above the first row
  const trial = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const cur = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : zeros;
    const o = y * (stride + 1);
    const row = filtered.subarray(o + 1, o + 1 + stride);
    // Filter 0 straight into place; each better filter (ties to the lower number) replaces it.
    let best = fixed;
    let bestSum = filterRow(fixed, cur, prev, channels, row);
    for (let f = 1; adaptive && f < 5; f++) {
      const sum = filterRow(f, cur, prev, channels, trial);
      if (sum < bestSum) {
        bestSum = sum;
        best = f;
        row.set(trial);
      }
    }
    filtered[o] = best;
  }
  return filtered;
}

/**
 * Encodes 8-bit pixels (HWC, `channels` interleaved: 1 grey, 3 RGB, 4 RGBA) as a PNG. The bytes
 * depend only on the input and the options: each row takes the filter with the smallest sum of
 * absolute filtered values (libpng's heuristic, ties to the lower filter number; or filter 0
 * with `filter: "none"`, filter 2 with `filter: "up"`), then zlib level 6.
 *
 * @example
 * ```ts
 * import { encodePng } from "./png.ts";
 * const mask = new Uint8Array(64 * 64).fill(255);
 * const png = encodePng(mask, 64, 64, 1);
 * console.assert(png[1] === 0x50); // "PNG"
 * ```
 */
export function encodePng(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  options: EncodePngOptions = {},
): Uint8Array {
  const filtered = filterImage(pixels, width, height, channels, options);
  return assemblePng(width, height, channels, new Uint8Array(deflateSync(filtered, { level: 6 })));
}

/**
 * {@linkcode encodePng} with zlib running on a background thread (libuv's pool), so compression
 * overlaps whatever the caller does next; the same bytes.
 */
export function encodePngAsync(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  options: EncodePngOptions = {},
): Promise<Uint8Array> {
  const filtered = filterImage(pixels, width, height, channels, options);
  return new Promise((resolve, reject) => {
    deflate(filtered, { level: 6 }, (err, idat) => {
      if (err) reject(err);
      else resolve(assemblePng(width, height, channels, new Uint8Array(idat)));
    });
  });
}

/** The PNG file around compressed scanlines `idat`. */
function assemblePng(
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  idat: Uint8Array,
): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const parts = [
    new Uint8Array(SIGNATURE),
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  for (let k = 0, o = 0; k < parts.length; o += parts[k].length, k++) out.set(parts[k], o);
  return out;
}
