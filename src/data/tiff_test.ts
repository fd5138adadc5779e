import assert from "node:assert/strict";
import { Image } from "imagescript";
import { InputError } from "../errors.ts";
import { decodeTiff, isTiff } from "./tiff.ts";

const DIR = new URL("../../fixtures/tiff/", import.meta.url);
const BAD = new URL("../../fixtures/bad/", import.meta.url);
const REAL = new URL("../../fixtures/real/", import.meta.url);
const [W, H] = [96, 80];
const crop = Deno.readFileSync(new URL("crop.rgb", DIR));
const gray = Deno.readFileSync(new URL("gray.rgb", DIR));

/** Asserts byte equality and reports the first differing byte and the count of differences. */
function assertSameBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let first = -1;
  let n = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      if (first < 0) first = i;
      n++;
    }
  }
  assert.equal(
    n,
    0,
    `${what}: ${n} bytes differ, first at ${first} (${got[first]} vs ${want[first]})`,
  );
}

function decodeFixture(url: URL, name: string) {
  return decodeTiff(Deno.readFileSync(url), name);
}

function assertRejects(file: string, pattern: RegExp): void {
  assert.throws(
    () => decodeFixture(new URL(file, BAD), `bad/${file}`),
    (e: unknown) => {
      assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
      assert.equal(e.file, `bad/${file}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

// Every encoding the fixture script writes; the reference decode is the crop itself.
const rgbVariants = [
  "crop_none.tif", // uncompressed, one strip
  "crop_lzw.tif", // LZW (libtiff via Pillow)
  "crop_lzw_pred2.tif", // LZW + horizontal predictor
  "crop_deflate.tif", // Compression 32946, 5 strips
  "crop_adobe_deflate.tif", // Compression 8
  "crop_deflate_pred2.tif", // Deflate + predictor, 5 strips
  "crop_packbits.tif",
  "crop_planar_none.tif", // PlanarConfiguration 2, 3 strips per plane
  "crop_planar_deflate.tif",
  "crop_tiled_deflate.tif", // 32×32 tiles, partial tiles on the right and bottom edges
  "crop_tiled_planar_pred2.tif", // 64×48 planar tiles with predictor
  "crop_bigendian.tif", // MM byte order
  "crop_bigtiff.tif", // BigTIFF (version 43, 8-byte offsets)
  "crop_rgba.tif", // RGB + unassociated alpha: alpha dropped
];

for (const file of rgbVariants) {
  Deno.test(`decodeTiff: ${file} decodes byte-exactly to the crop`, () => {
    const img = decodeFixture(new URL(file, DIR), file);
    assert.equal(img.width, W);
    assert.equal(img.height, H);
    assertSameBytes(img.rgb, crop, file);
  });
}

Deno.test("decodeTiff: grey LZW becomes three equal channels equal to Pillow's L conversion", () => {
  const img = decodeFixture(new URL("crop_gray.tif", DIR), "crop_gray.tif");
  assertSameBytes(img.rgb, gray, "crop_gray.tif");
});

Deno.test("decodeTiff: WhiteIsZero grey is inverted", () => {
  // Patch PhotometricInterpretation 1 → 0 in a copy of the grey file (little-endian IFD entry).
  const bytes = Deno.readFileSync(new URL("crop_gray.tif", DIR));
  const view = new DataView(bytes.buffer);
  const ifd = view.getUint32(4, true);
  const n = view.getUint16(ifd, true);
  let patched = false;
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + k * 12;
    if (view.getUint16(e, true) === 262) {
      assert.equal(view.getUint16(e + 8, true), 1);
      view.setUint16(e + 8, 0, true);
      patched = true;
    }
  }
  assert.ok(patched);
  const img = decodeTiff(bytes, "white_is_zero.tif");
  for (let i = 0; i < gray.length; i += 97) assert.equal(img.rgb[i], 255 - gray[i]);
});

Deno.test("decodeTiff: the full-size real tile (Deflate, committed copy) decodes to the real PNG", async () => {
  const { decodePng } = await import("./png.ts");
  const real = new URL("../../fixtures/real/", import.meta.url);
  const tif = decodeFixture(new URL("0006ff2aa7cd_deflate.tif", real), "0006ff2aa7cd_deflate.tif");
  const png = decodePng(Deno.readFileSync(new URL("0006ff2aa7cd.png", real)), "0006ff2aa7cd.png");
  assert.equal(tif.width, 512);
  assert.equal(tif.height, 512);
  assertSameBytes(tif.rgb, png.rgb, "real tile");
});

Deno.test("decodeTiff: the real tile in every lossless encoding equals its PNG as ImageScript reads it", async (t) => {
  const png = await Image.decode(Deno.readFileSync(new URL("0006ff2aa7cd.png", REAL)));
  const ref = new Uint8Array(512 * 512 * 3);
  for (let i = 0; i < 512 * 512; i++) ref.set(png.bitmap.subarray(i * 4, i * 4 + 3), i * 3);
  for (const enc of ["none", "lzw", "deflate", "packbits"]) {
    await t.step(enc, () => {
      const name = `0006ff2aa7cd_${enc}.tif`;
      const img = decodeFixture(new URL(name, REAL), name);
      assert.equal(img.width, 512);
      assertSameBytes(img.rgb, ref, name);
    });
  }
  await t.step("jpeg is rejected clearly", () => {
    assert.throws(
      () => decodeFixture(new URL("0006ff2aa7cd_jpeg.tif", REAL), "0006ff2aa7cd_jpeg.tif"),
      /^InputError: 0006ff2aa7cd_jpeg\.tif: JPEG-compressed TIFF \(Compression 7\) is not supported/,
    );
  });
});

Deno.test("decodeTiff: JPEG-in-TIFF is rejected with the compression named", () => {
  assert.throws(
    () => decodeFixture(new URL("crop_jpeg.tif", DIR), "train/crop_jpeg.tif"),
    (e: unknown) =>
      e instanceof InputError &&
      e.message.startsWith("train/crop_jpeg.tif: JPEG-compressed TIFF (Compression 7)") &&
      e.message.includes("convert the tile to PNG or a lossless TIFF"),
  );
});

Deno.test("decodeTiff: a truncated file names the strip and both byte counts", () => {
  // truncated.tif is crop_deflate.tif cut to 2/3 of its 22086 bytes: strip 3 starts inside and
  // ends past the cut.
  assertRejects(
    "truncated.tif",
    /^bad\/truncated\.tif: truncated TIFF: strip 3 ends at byte \d+, file has 14724$/,
  );
});

Deno.test("decodeTiff: a header without an IFD is truncated", () => {
  assertRejects("header_only.tif", /truncated TIFF: first IFD at byte 8, file has 8/);
});

Deno.test("decodeTiff: 16-bit, palette and 5-channel files are rejected clearly", () => {
  assertRejects("rgb16.tif", /BitsPerSample is 16,16,16; only 8-bit samples are supported/);
  assertRejects("palette.tif", /PhotometricInterpretation 3 \(palette colour\) is not supported/);
  assertRejects("five_channels.tif", /SamplesPerPixel is 5; only 1 to 4 samples are supported/);
});

Deno.test("decodeTiff: corrupt compressed data is an InputError, not a crash", () => {
  for (const file of ["crop_deflate.tif", "crop_lzw.tif", "crop_packbits.tif"]) {
    const bytes = Deno.readFileSync(new URL(file, DIR));
    // Overwrite the middle of the image data with a pattern; the IFD sits at the end (Pillow)
    // or the start (tifffile), so find the first strip's offset and clobber from there.
    const img = decodeTiff(bytes, file); // sanity: intact file decodes
    assert.equal(img.width, W);
    const broken = bytes.slice();
    const stripStart = findFirstStripOffset(broken);
    broken.fill(0xff, stripStart + 10, stripStart + 400);
    try {
      const out = decodeTiff(broken, `broken_${file}`);
      // PackBits has no redundancy: damage can only show up as different pixels.
      assert.notDeepEqual(out.rgb, crop, `${file}: damage went unnoticed`);
    } catch (e) {
      assert.ok(e instanceof InputError, `${file}: ${e}`);
      assert.ok(e.message.startsWith(`broken_${file}: `), e.message);
    }
  }
});

Deno.test("decodeTiff: random truncations of every fixture give InputErrors only", () => {
  for (const file of rgbVariants) {
    const bytes = Deno.readFileSync(new URL(file, DIR));
    for (const frac of [0.05, 0.3, 0.6, 0.9, 0.999]) {
      const cut = bytes.subarray(0, Math.floor(bytes.length * frac));
      try {
        decodeTiff(cut, file);
      } catch (e) {
        assert.ok(e instanceof InputError, `${file} cut at ${frac}: ${e}`);
      }
    }
  }
});

Deno.test("isTiff: magic bytes", () => {
  assert.equal(isTiff(new Uint8Array([0x49, 0x49, 42, 0])), true);
  assert.equal(isTiff(new Uint8Array([0x4d, 0x4d, 0, 42])), true);
  assert.equal(isTiff(new Uint8Array([0x49, 0x49, 43, 0])), true);
  assert.equal(isTiff(new Uint8Array([0x89, 0x50, 0x4e, 0x47])), false);
  assert.equal(isTiff(new Uint8Array([0x49, 0x49])), false);
});

function findFirstStripOffset(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer);
  const ifd = view.getUint32(4, true);
  const n = view.getUint16(ifd, true);
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + k * 12;
    if (view.getUint16(e, true) !== 273) continue;
    const count = view.getUint32(e + 4, true);
    const type = view.getUint16(e + 2, true);
    const size = type === 3 ? 2 : 4;
    const at = count * size <= 4 ? e + 8 : view.getUint32(e + 8, true);
    return size === 2 ? view.getUint16(at, true) : view.getUint32(at, true);
  }
  throw new Error("no StripOffsets");
}

Deno.test("decodeTiff: a Deflate strip that inflates far past its size is refused", async () => {
  const { deflateSync } = await import("node:zlib");
  // Rebuild crop_deflate.tif's first strip as 1 MB of zeros, appended at the end of the file.
  const bytes = Deno.readFileSync(new URL("crop_deflate.tif", DIR));
  const bomb = new Uint8Array(deflateSync(new Uint8Array(1 << 20)));
  const file = new Uint8Array(bytes.length + bomb.length);
  file.set(bytes);
  file.set(bomb, bytes.length);
  const view = new DataView(file.buffer);
  const ifd = view.getUint32(4, true);
  const n = view.getUint16(ifd, true);
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + k * 12;
    const tag = view.getUint16(e, true);
    if (tag !== 273 && tag !== 279) continue;
    const at = view.getUint32(e + 8, true); // 5 LONG values: stored out of line
    view.setUint32(at, tag === 273 ? bytes.length : bomb.length, true);
  }
  // 16 rows × 96 px × 3 = 4608 bytes per strip, plus 65536 of slack.
  assert.throws(
    () => decodeTiff(file, "bomb.tif"),
    /^InputError: bomb\.tif: strip 0: Deflate data inflates to more than 70144 bytes$/,
  );
});
