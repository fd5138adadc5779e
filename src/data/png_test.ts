import assert from "node:assert/strict";
import { Image } from "imagescript";
import { InputError } from "../errors.ts";
import { inflateSync } from "node:zlib";
import { decodePng, encodePng, encodePngAsync, isPng } from "./png.ts";

const PNG = new URL("../../fixtures/png/", import.meta.url);
const TIFF = new URL("../../fixtures/tiff/", import.meta.url);
const W = 96;
const H = 80;
const crop = Deno.readFileSync(new URL("crop.rgb", TIFF));
const grayRgb = Deno.readFileSync(new URL("gray.rgb", TIFF));
const gray = grayRgb.filter((_, i) => i % 3 === 0);
/** The alpha ramp used by fixtures/png/make_fixtures.py and make_encoded.ts. */
const rgba = new Uint8Array(W * H * 4);
for (let p = 0; p < W * H; p++) {
  rgba.set(crop.subarray(p * 3, p * 3 + 3), p * 4);
  rgba[p * 4 + 3] = (p % W) * 2;
}

function read(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, PNG));
}

/** Splits a PNG into chunks: IHDR bytes and the inflated IDAT stream. */
function parts(png: Uint8Array): { ihdr: Uint8Array; raw: Uint8Array; types: string[] } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let pos = 8;
  let ihdr = new Uint8Array(0);
  const idat: number[] = [];
  const types: string[] = [];
  while (pos < png.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...png.subarray(pos + 4, pos + 8));
    types.push(type);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") ihdr = data.slice();
    if (type === "IDAT") idat.push(...data);
    pos += 12 + len;
  }
  return { ihdr, raw: new Uint8Array(inflateSync(new Uint8Array(idat))), types };
}

Deno.test("decodePng: Pillow-written PNGs of every colour type decode to the reference", () => {
  const cases: [string, Uint8Array][] = [
    ["pil_rgb.png", crop],
    ["pil_rgba.png", crop], // alpha dropped
    ["pil_gray.png", grayRgb],
    ["pil_gray_alpha.png", grayRgb],
    ["pil_palette.png", read("palette.rgb")], // Pillow's own RGB conversion of the palette image
  ];
  for (const [name, want] of cases) {
    const img = decodePng(read(name), name);
    assert.equal(img.width, W, name);
    assert.equal(img.height, H, name);
    assert.deepEqual(img.rgb, want, name);
  }
});

/** RGB bytes of an image as ImageScript (an independent decoder) reads it. */
async function imagescriptRgb(png: Uint8Array): Promise<{ w: number; h: number; rgb: Uint8Array }> {
  const img = await Image.decode(png);
  const rgba = img.bitmap;
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) rgb.set(rgba.subarray(i * 4, i * 4 + 3), i * 3);
  return { w: img.width, h: img.height, rgb };
}

Deno.test("decodePng: the real tile decodes as ImageScript decodes it", async () => {
  const png = Deno.readFileSync(new URL("../../fixtures/real/0006ff2aa7cd.png", import.meta.url));
  const img = decodePng(png, "0006ff2aa7cd.png");
  const ref = await imagescriptRgb(png);
  assert.equal(img.width, 512);
  assert.equal(img.height, 512);
  assert.deepEqual([ref.w, ref.h], [512, 512]);
  assert.deepEqual(img.rgb, ref.rgb);
});

Deno.test("encodePng: an independent decoder (ImageScript) reads every output as its input", async () => {
  // 1, 3 and 4 channels, the real crop and edge shapes (1×1, one row, one column, odd sizes)
  const rng = (n: number, seed: number) =>
    Uint8Array.from({ length: n }, (_, i) => (i * 2654435761 + seed * 97) >>> 24);
  const cases: [string, Uint8Array, number, number, 1 | 3 | 4][] = [
    ["gray crop", gray, W, H, 1],
    ["rgb crop", crop, W, H, 3],
    ["rgba crop", rgba, W, H, 4],
    ["1×1 rgb", new Uint8Array([7, 8, 9]), 1, 1, 3],
    ["one row", rng(5, 1), 5, 1, 1],
    ["one column", rng(7 * 3, 2), 1, 7, 3],
    ["odd rgba", rng(13 * 11 * 4, 3), 13, 11, 4],
  ];
  for (const [name, pixels, w, h, channels] of cases) {
    for (const filter of ["adaptive", "up"] as const) {
      const img = await Image.decode(encodePng(pixels, w, h, channels, { filter }));
      assert.deepEqual([img.width, img.height], [w, h], name);
      const want = new Uint8Array(w * h * 4);
      for (let i = 0; i < w * h; i++) {
        for (let c = 0; c < 4; c++) {
          want[i * 4 + c] = channels === 1
            ? (c < 3 ? pixels[i] : 255)
            : channels === 3
            ? (c < 3 ? pixels[i * 3 + c] : 255)
            : pixels[i * 4 + c];
        }
      }
      assert.deepEqual(new Uint8Array(img.bitmap), want, `${name}, filter ${filter}`);
    }
  }
});

Deno.test("encodePngAsync: the same bytes as encodePng, every filter mode", async () => {
  for (const filter of ["adaptive", "none", "up"] as const) {
    for (const [pixels, channels] of [[gray, 1], [crop, 3], [rgba, 4]] as const) {
      const sync = encodePng(pixels, W, H, channels, { filter });
      assert.deepEqual(await encodePngAsync(pixels, W, H, channels, { filter }), sync);
    }
  }
  // "up": every scanline's filter byte is 2 (IHDR is 8 + 25 bytes, then IDAT's length and type).
  const up = encodePng(gray, W, H, 1, { filter: "up" });
  const len = new DataView(up.buffer, up.byteOffset).getUint32(33);
  const raw = inflateSync(up.subarray(41, 41 + len));
  for (let y = 0; y < H; y++) assert.equal(raw[y * (W + 1)], 2, `row ${y}`);
  const rgb = decodePng(up, "up.png").rgb;
  assert.deepEqual(rgb.filter((_, i) => i % 3 === 0), gray);
});

Deno.test("encodePng: the golden files (read by Pillow as the input) are reproduced", () => {
  // encoded_*.png were written by encodePng once and checked with Pillow (fixtures/png/README.md);
  // the test above checks every output with an independent decoder, this one that filters and
  // layout have not drifted.
  const cases: [string, Uint8Array, 1 | 3 | 4][] = [
    ["encoded_gray.png", gray, 1],
    ["encoded_rgb.png", crop, 3],
    ["encoded_rgba.png", rgba, 4],
  ];
  for (const [name, pixels, channels] of cases) {
    const golden = parts(read(name));
    const got = parts(encodePng(pixels, W, H, channels));
    assert.deepEqual(got.types, ["IHDR", "IDAT", "IEND"]);
    assert.deepEqual(got.ihdr, golden.ihdr, `${name}: IHDR`);
    // Compare the filtered scanlines (what the decoder sees), not the zlib bytes, so a change of
    // zlib build does not break the test while a change of filters or layout does.
    assert.deepEqual(got.raw, golden.raw, `${name}: filtered scanlines`);
  }
});

Deno.test("encodePng: deterministic and round-trips through decodePng for 1, 3, 4 channels", () => {
  // same input, same bytes: two encodes of separate copies of the pixels
  assert.deepEqual(encodePng(crop.slice(), W, H, 3), encodePng(Uint8Array.from(crop), W, H, 3));
  assert.deepEqual(decodePng(encodePng(crop, W, H, 3), "x").rgb, crop);
  assert.deepEqual(decodePng(encodePng(rgba, W, H, 4), "x").rgb, crop);
  assert.deepEqual(decodePng(encodePng(gray, W, H, 1), "x").rgb, grayRgb);
  // A 1×1 image and a one-row image exercise the edge cases of the filters.
  assert.deepEqual(
    decodePng(encodePng(new Uint8Array([7, 8, 9]), 1, 1, 3), "x").rgb,
    new Uint8Array([7, 8, 9]),
  );
  const row = new Uint8Array([0, 255, 1, 254, 2]);
  assert.deepEqual(
    decodePng(encodePng(row, 5, 1, 1), "x").rgb,
    new Uint8Array([...row].flatMap((v) => [v, v, v])),
  );
});

Deno.test("encodePng: rejects a size that does not match the buffer", () => {
  assert.throws(() => encodePng(new Uint8Array(10), 2, 2, 3), /12 bytes|expected 12/);
  assert.throws(() => encodePng(new Uint8Array(0), 0, 0, 1), /bad size/);
});

Deno.test("decodePng: truncated and corrupt files are InputErrors naming the file", () => {
  const bad = Deno.readFileSync(new URL("../../fixtures/bad/truncated.png", import.meta.url));
  assert.throws(
    () => decodePng(bad, "train/x.png"),
    /^InputError: train\/x\.png: truncated PNG: chunk IDAT at byte 33 ends at byte \d+, file has \d+$/,
  );
  const good = read("pil_rgb.png");
  for (const frac of [0.01, 0.2, 0.5, 0.99]) {
    assert.throws(
      () => decodePng(good.subarray(0, Math.floor(good.length * frac)), "t.png"),
      InputError,
    );
  }
  const broken = good.slice();
  broken.fill(0x55, 200, 300); // inside IDAT: zlib stream damaged (Adler-32 or structure)
  assert.throws(() => decodePng(broken, "t.png"), /^InputError: t\.png: /);
});

Deno.test("decodePng: interlaced and 16-bit PNGs are rejected clearly", () => {
  const png = encodePng(crop, W, H, 3);
  const interlaced = png.slice();
  interlaced[8 + 8 + 12] = 1; // IHDR interlace byte (CRC not checked by the decoder)
  assert.throws(
    () => decodePng(interlaced, "i.png"),
    /interlaced \(Adam7\) PNGs are not supported/,
  );
  const deep = png.slice();
  deep[8 + 8 + 8] = 16;
  assert.throws(() => decodePng(deep, "d.png"), /bit depth 16; only 8-bit PNGs are supported/);
});

Deno.test("isPng: signature", () => {
  assert.equal(isPng(encodePng(new Uint8Array(1), 1, 1, 1)), true);
  assert.equal(isPng(new Uint8Array([0x49, 0x49, 42, 0, 0, 0, 0, 0])), false);
});

Deno.test("decodePng: image data longer than the header allows is refused, not inflated without bound", async () => {
  const { deflateSync } = await import("node:zlib");
  // A valid 2×2 grey header followed by 1 MB of zeros in the IDAT stream.
  const png = encodePng(new Uint8Array(4), 2, 2, 1);
  const view = new DataView(png.buffer);
  const ihdrEnd = 8 + 12 + 13;
  const idat = new Uint8Array(deflateSync(new Uint8Array(1 << 20)));
  const chunk = new Uint8Array(12 + idat.length);
  new DataView(chunk.buffer).setUint32(0, idat.length);
  chunk.set([73, 68, 65, 84], 4);
  chunk.set(idat, 8);
  const iend = png.subarray(png.length - 12);
  const bomb = new Uint8Array([...png.subarray(0, ihdrEnd), ...chunk, ...iend]);
  assert.equal(view.getUint32(8 + 8), 2);
  assert.throws(
    () => decodePng(bomb, "bomb.png"),
    /^InputError: bomb\.png: image data inflates to more than 65542 bytes$/,
  );
});

Deno.test("encodePng filter none: every row stored with filter 0, same pixels back", async () => {
  const { inflateSync } = await import("node:zlib");
  const png = encodePng(gray, W, H, 1, { filter: "none" });
  assert.deepEqual(decodePng(png, "x").rgb, grayRgb);
  // IDAT starts after the 8-byte signature and the 25-byte IHDR chunk, at its 8-byte header.
  const idatLength = new DataView(png.buffer, png.byteOffset).getUint32(33);
  const raw = inflateSync(png.subarray(41, 41 + idatLength));
  for (let y = 0; y < H; y++) assert.equal(raw[y * (W + 1)], 0, `row ${y} filter`);
  // The adaptive default picks other filters on this image, so the option is what changed them.
  const rawAdaptive = inflateSync(encodePng(gray, W, H, 1).subarray(41));
  assert.ok([...Array(H).keys()].some((y) => rawAdaptive[y * (W + 1)] !== 0));
});
