import assert from "node:assert/strict";
import { Image } from "imagescript";
import { exists } from "../io.ts";
import {
  greyHistogram,
  otsuMask,
  otsuThreshold,
  rgbToGrey,
  rgbToGreyHistogram,
  thresholdMask,
} from "./otsu.ts";
import { otsuWasm } from "./otsu_wasm.ts";

// Goldens made by OpenCV (fixtures/otsu/make_goldens.py, see fixtures/otsu/README.md).
const root = new URL("../../", import.meta.url);
const goldens = JSON.parse(
  await Deno.readTextFile(new URL("fixtures/otsu/goldens.json", root)),
);
const realTile = new URL(goldens.real.file, root);

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

function imageFromHistogram(hist: number[]): Uint8Array {
  const n = hist.reduce((a, b) => a + b, 0);
  const grey = new Uint8Array(n);
  let k = 0;
  for (let v = 0; v < 256; v++) grey.fill(v, k, k += hist[v]);
  return grey;
}

Deno.test("rgbToGrey equals cv2.cvtColor(RGB2GRAY) on all 2^24 colours", async () => {
  const n = 1 << 24;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = i >>> 16;
    rgb[3 * i + 1] = (i >>> 8) & 255;
    rgb[3 * i + 2] = i & 255;
  }
  const grey = rgbToGrey(rgb);
  assert.deepEqual(Array.from(grey.subarray(0, 64)), goldens.allColours.first);
  assert.equal(await sha256(grey), goldens.allColours.greySha256);
  // The fused word-at-a-time path: same bytes; every grey level's count of the 2^24 colours.
  const fused = new Uint8Array(n), hist = new Float64Array(256);
  rgbToGreyHistogram(rgb, fused, hist);
  assert.equal(await sha256(fused), goldens.allColours.greySha256);
  assert.deepEqual(hist, greyHistogram(grey));
});

Deno.test("otsuMask: the wasm SIMD path equals OpenCV and the scalar path on all 2^24 colours", async () => {
  const n = 1 << 24;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = i >>> 16;
    rgb[3 * i + 1] = (i >>> 8) & 255;
    rgb[3 * i + 2] = i & 255;
  }
  assert.ok(otsuWasm(), "WebAssembly SIMD is available in Deno");
  for (const invert of [false, true]) {
    const a = otsuMask(rgb, { invert }), b = otsuMask(rgb, { invert, simd: false });
    assert.equal(a.threshold, b.threshold);
    assert.ok(a.maskU8.every((v, i) => v === b.maskU8[i]), `invert ${invert}`);
  }
  const grey = new Uint8Array(n), hist = new Float64Array(256);
  otsuWasm()!.greyHistogram(rgb, hist, grey);
  assert.equal(await sha256(grey), goldens.allColours.greySha256);
  assert.deepEqual(hist, greyHistogram(grey));
});

Deno.test("rgbToGreyHistogram: unaligned input and a tail of 1–3 pixels take the scalar path", () => {
  const buf = new Uint8Array(1 + 7 * 3);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 37 + 11) & 255;
  for (const rgb of [buf.subarray(1), buf.subarray(0, 21), buf.subarray(0, 15)]) {
    const grey = new Uint8Array(rgb.length / 3), hist = new Float64Array(256);
    rgbToGreyHistogram(rgb, grey, hist);
    assert.deepEqual(grey, rgbToGrey(rgb));
    assert.deepEqual(hist, greyHistogram(rgbToGrey(rgb)));
  }
  assert.throws(
    () => rgbToGreyHistogram(new Uint8Array(6), new Uint8Array(1), new Float64Array(256)),
    RangeError,
  );
});

Deno.test("rgbToGrey equals OpenCV on a random sample (readable diff on failure)", () => {
  const grey = rgbToGrey(new Uint8Array(goldens.sampleColours.rgb));
  assert.deepEqual(Array.from(grey), goldens.sampleColours.grey);
});

Deno.test("rgbToGrey rejects a length that is not a multiple of 3", () => {
  assert.throws(() => rgbToGrey(new Uint8Array(4)), RangeError);
});

for (
  const c of goldens.histograms as {
    name: string;
    histogram: number[];
    threshold: number;
    brightPx: number;
  }[]
) {
  Deno.test(`otsuThreshold equals cv2 THRESH_OTSU: ${c.name}`, () => {
    const grey = imageFromHistogram(c.histogram);
    const hist = greyHistogram(grey);
    assert.deepEqual(Array.from(hist), c.histogram);
    const t = otsuThreshold(hist);
    assert.equal(t, c.threshold);
    const mask = thresholdMask(grey, t);
    assert.equal(mask.reduce((a, b) => a + b, 0), c.brightPx);
    const inv = thresholdMask(grey, t, { invert: true });
    assert.equal(inv.reduce((a, b) => a + b, 0), grey.length - c.brightPx);
  });
}

Deno.test("otsuThreshold of an empty histogram is 0; wrong bin count is a RangeError", () => {
  assert.equal(otsuThreshold(new Float64Array(256)), 0);
  assert.throws(() => otsuThreshold(new Float64Array(255)), RangeError);
});

Deno.test({
  name: "Otsu on the real tile 0006ff2aa7cd equals OpenCV byte for byte",
  fn: async () => {
    assert.ok(await exists(realTile.pathname), `${realTile.pathname} is missing`);
    const img = await Image.decode(await Deno.readFile(realTile));
    const n = img.width * img.height;
    assert.equal(img.width, goldens.real.width);
    const rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      rgb[3 * i] = img.bitmap[4 * i];
      rgb[3 * i + 1] = img.bitmap[4 * i + 1];
      rgb[3 * i + 2] = img.bitmap[4 * i + 2];
    }
    assert.equal(await sha256(rgb), goldens.real.rgbSha256, "decoded RGB differs from cv2.imread");
    const grey = rgbToGrey(rgb);
    assert.deepEqual(Array.from(greyHistogram(grey)), goldens.real.greyHistogram);
    assert.equal(await sha256(grey), goldens.real.greySha256);
    for (const simd of [true, false]) {
      const { threshold, maskU8 } = otsuMask(rgb, { simd });
      assert.equal(threshold, goldens.real.threshold);
      assert.equal(maskU8.reduce((a, b) => a + b, 0), goldens.real.brightPx);
    }
  },
});

Deno.test("otsuMask reuses scratch buffers across calls", () => {
  const scratch = {};
  const a = otsuMask(new Uint8Array([0, 0, 0, 200, 200, 200]), { scratch });
  const b = otsuMask(new Uint8Array([200, 200, 200, 0, 0, 0]), { scratch });
  assert.equal(a.maskU8, b.maskU8);
  assert.deepEqual(Array.from(b.maskU8), [1, 0]);
  assert.deepEqual(
    Array.from(otsuMask(new Uint8Array([0, 0, 0, 200, 200, 200]), { invert: true }).maskU8),
    [1, 0],
  );
});
