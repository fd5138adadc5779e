import assert from "node:assert/strict";
import { fromArrayBuffer } from "geotiff";
import { decodeImage } from "./image.ts";
import { encodeTiff } from "./tiff_write.ts";

/** Decodes with the independent `geotiff` decoder into interleaved RGB. */
async function decodeWithGeotiff(
  bytes: Uint8Array,
): Promise<{ w: number; h: number; rgb: Uint8Array }> {
  const buf = bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength,
  ) as ArrayBuffer;
  const tiff = await fromArrayBuffer(buf);
  const image = await tiff.getImage();
  const raster = await image.readRasters({ interleave: true });
  return {
    w: image.getWidth(),
    h: image.getHeight(),
    rgb: new Uint8Array(raster as unknown as ArrayLike<number>),
  };
}

function pattern(w: number, h: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + (i >> 7) * 11) & 255;
  return rgb;
}

const VARIANTS = [["none", false], ["deflate", false], ["deflate", true]] as const;
for (const [compression, predictor] of VARIANTS) {
  for (const [w, h, rows] of [[512, 512, 64], [13, 7, 3], [1, 1, 64], [40, 100, 100]]) {
    const name = `${compression}${predictor ? "+predictor" : ""} ${w}×${h} (${rows} rows/strip)`;
    Deno.test(`encodeTiff ${name} decodes byte-exactly with geotiff and decodeImage`, async () => {
      const rgb = pattern(w, h);
      const bytes = encodeTiff(rgb, w, h, { compression, predictor, rowsPerStrip: rows });
      const got = await decodeWithGeotiff(bytes);
      assert.equal(got.w, w);
      assert.equal(got.h, h);
      assert.deepEqual(got.rgb, rgb);
      const ours = decodeImage(bytes, "pattern.tif");
      assert.equal(ours.width, w);
      assert.equal(ours.height, h);
      assert.deepEqual(ours.rgb, rgb);
    });
  }
}

Deno.test("encodeTiff is deterministic and deflate is smaller on smooth images", () => {
  const w = 64, h = 64;
  const rgb = new Uint8Array(w * h * 3).fill(200);
  const a = encodeTiff(rgb, w, h);
  const b = encodeTiff(rgb.slice(), w, h);
  assert.deepEqual(a, b);
  assert.ok(a.length < encodeTiff(rgb, w, h, { compression: "none" }).length / 10);
});

Deno.test("encodeTiff writes the header and tags a baseline reader expects", () => {
  const bytes = encodeTiff(new Uint8Array(4 * 3 * 3), 4, 3, { compression: "none" });
  const view = new DataView(bytes.buffer);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x49, 0x49, 42, 0]);
  const ifd = view.getUint32(4, true);
  const n = view.getUint16(ifd, true);
  const tags = new Map<number, number>();
  for (let k = 0; k < n; k++) {
    const at = ifd + 2 + 12 * k;
    tags.set(view.getUint16(at, true), view.getUint16(at + 8, true));
  }
  assert.equal(tags.get(256), 4); // ImageWidth
  assert.equal(tags.get(257), 3); // ImageLength
  assert.equal(tags.get(259), 1); // Compression none
  assert.equal(tags.get(262), 2); // RGB
  assert.equal(tags.get(277), 3); // SamplesPerPixel
  assert.equal(bytes.length, ifd + 2 + 12 * n + 4 + 6 + 16 + 36); // IFD + BitsPerSample + 2 rationals + pixels
});

Deno.test("encodeTiff rejects a buffer of the wrong size", () => {
  assert.throws(() => encodeTiff(new Uint8Array(10), 2, 2), /expected 12 bytes/);
  assert.throws(() => encodeTiff(new Uint8Array(0), 0, 2), /positive integers/);
});
