import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { loadArtifact } from "../model/artifact.ts";
import { join } from "node:path";
import type { RgbImage } from "../data/image.ts";
import { downscaleArea } from "../data/resize.ts";
import { Rng } from "../rng.ts";
import {
  predictManyAsync,
  predictProbabilities,
  predictProbabilitiesAsync,
  upsampleBilinear,
  windowStarts,
} from "./predict.ts";
import { convModel, writeRunAround } from "./testing.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

function randomImage(width: number, height: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = rng.int(256);
  return { width, height, rgb };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Largest absolute difference, printed, then compared with `tol`. */
function assertClose(actual: Float32Array, expected: Float32Array, tol: number, what: string) {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  console.log(`  ${what}: largest difference ${worst.toExponential(2)} (tolerance ${tol})`);
  assert.ok(worst <= tol, `${what}: largest difference ${worst} > ${tol}`);
}

// 1×1 kernel: logit = 0.3 + 0.8·x_R − 0.5·x_G + 0.2·x_B of the normalised input
const W1 = [0.8, -0.5, 0.2], B1 = 0.3;
const MEAN = [0.6, 0.4, 0.7], STD = [0.13, 0.18, 0.1];

function pointwise(img: RgbImage, norm: boolean): Float32Array {
  const out = new Float32Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) {
    let z = B1;
    for (let c = 0; c < 3; c++) {
      const v = img.rgb[i * 3 + c] / 255;
      z += W1[c] * (norm ? (v - MEAN[c]) / STD[c] : v);
    }
    out[i] = sigmoid(z);
  }
  return out;
}

Deno.test("windowStarts: tiles the axis, the last window ends at the border", () => {
  assert.deepEqual(windowStarts(10, 16), [0]);
  assert.deepEqual(windowStarts(16, 16), [0]);
  assert.deepEqual(windowStarts(20, 16), [0, 4]);
  assert.deepEqual(windowStarts(48, 16), [0, 16, 32]);
  assert.deepEqual(windowStarts(50, 16), [0, 16, 32, 34]);
});

Deno.test("upsampleBilinear: pixel-centre convention (cv2.resize INTER_LINEAR), hand values", () => {
  // 2×1 → 4×1: source x = (x + 0.5)/2 − 0.5 = −0.25 (clamped), 0.25, 0.75, 1.25 (clamped)
  assertClose(
    upsampleBilinear(new Float32Array([0, 1]), 2, 1, 4, 1, 0.5),
    new Float32Array([0, 0.25, 0.75, 1]),
    1e-7,
    "2→4",
  );
  // 2×2 → 4×4 at (1, 1): source (0.25, 0.25) of [[0, 1], [2, 3]] → 0.25·1 + 0.25·2 = 0.75
  const up = upsampleBilinear(new Float32Array([0, 1, 2, 3]), 2, 2, 4, 4, 0.5);
  assert.ok(Math.abs(up[1 * 4 + 1] - 0.75) < 1e-7);
  // ratio 1 is the identity
  const id = new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
  assertClose(upsampleBilinear(id, 3, 2, 3, 2, 1), id, 0, "identity");
});

Deno.test("predictProbabilities: normalisation as in training, overlapping windows, any size", async () => {
  const model = convModel([[W1]], B1);
  for (const [w, h] of [[16, 16], [20, 13], [37, 50], [5, 3]]) {
    const img = randomImage(w, h, w * 100 + h);
    const got = predictProbabilities(model, img, {
      tileSizePx: 16,
      normalize: { mean: MEAN, std: STD },
    });
    assertClose(got, pointwise(img, true), 2e-6, `${w}×${h} normalised`);
    const raw = predictProbabilities(model, img, { tileSizePx: 16, normalize: null });
    assertClose(raw, pointwise(img, false), 2e-6, `${w}×${h} v/255`);
    const viaAsync = await predictProbabilitiesAsync(model, img, {
      tileSizePx: 16,
      normalize: null,
    });
    assert.deepEqual(viaAsync, raw);
  }
  model.dispose();
});

/**
 * Reference for a 3×3 "same" convolution run window by window: each window sees zeros outside
 * itself, so pixels near a window's border get other logits than in a neighbouring window, and
 * the rule for overlaps shows. Probabilities of the windows covering a pixel are averaged.
 */
function windowedReference(
  img: RgbImage,
  kernel: number[][][],
  bias: number,
  win: number,
  starts: { xs: number[]; ys: number[] },
): Float32Array {
  const { width: w, height: h } = img;
  const sum = new Float64Array(w * h), n = new Float64Array(w * h);
  for (const y0 of starts.ys) {
    for (const x0 of starts.xs) {
      for (let y = y0; y < y0 + win; y++) {
        for (let x = x0; x < x0 + win; x++) {
          let z = bias;
          for (let dy = -1; dy <= 1; dy++) {
            for (let dx = -1; dx <= 1; dx++) {
              const yy = y + dy, xx = x + dx;
              if (yy < y0 || yy >= y0 + win || xx < x0 || xx >= x0 + win) continue; // zero padding
              for (let c = 0; c < 3; c++) {
                z += kernel[dy + 1][dx + 1][c] * (img.rgb[(yy * w + xx) * 3 + c] / 255);
              }
            }
          }
          sum[y * w + x] += sigmoid(z);
          n[y * w + x]++;
        }
      }
    }
  }
  return Float32Array.from(sum, (v, i) => v / n[i]);
}

Deno.test("predictProbabilities: overlapping windows are averaged (3×3 kernel, by hand)", () => {
  const rng = new Rng(11);
  const kernel = Array.from(
    { length: 3 },
    () => Array.from({ length: 3 }, () => [0, 1, 2].map(() => rng.uniform(-2, 2))),
  );
  const model = convModel(kernel, 0.1);
  // 20×24 with 16 px windows: x starts 0 and 4 (columns 4–15 covered twice), y starts 0 and 8.
  const img = randomImage(20, 24, 12);
  const got = predictProbabilities(model, img, { tileSizePx: 16, normalize: null });
  const want = windowedReference(img, kernel, 0.1, 16, { xs: [0, 4], ys: [0, 8] });
  assertClose(got, want, 2e-6, "averaged overlaps");
  // The rule matters here: at column 4 (the second window's border) averaging and "last window
  // wins" differ by far more than the tolerance.
  const last = windowedReference(img, kernel, 0.1, 16, { xs: [4], ys: [8] });
  let gap = 0;
  for (let y = 8; y < 16; y++) gap = Math.max(gap, Math.abs(want[y * 20 + 4] - last[y * 20 + 4]));
  assert.ok(gap > 1e-2, `overlap rules differ by only ${gap}`);
  model.dispose();
});

Deno.test("predictProbabilities: scale 0.5 = INTER_AREA downscale, model, bilinear back", () => {
  const model = convModel([[W1]], B1);
  const img = randomImage(24, 18, 5);
  const got = predictProbabilities(model, img, { tileSizePx: 8, scale: 0.5, normalize: null });
  const small: RgbImage = { width: 12, height: 9, rgb: downscaleArea(img.rgb, 24, 18, 3, 2) };
  const want = upsampleBilinear(pointwise(small, false), 12, 9, 24, 18, 0.5);
  assertClose(got, want, 2e-6, "scale 0.5");
  // odd sides: padded by edge replication, then cropped back to 25×17
  const odd = randomImage(25, 17, 6);
  assert.equal(
    predictProbabilities(model, odd, { tileSizePx: 8, scale: 0.25, normalize: null }).length,
    25 * 17,
  );
  model.dispose();
});

/** Flips an HWC (or HW with channels 1) array horizontally and/or vertically. */
function flip<T extends Uint8Array | Float32Array>(
  a: T,
  w: number,
  h: number,
  ch: number,
  hFlip: boolean,
  vFlip: boolean,
): T {
  const out = a.slice() as T;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = hFlip ? w - 1 - x : x, sy = vFlip ? h - 1 - y : y;
      for (let c = 0; c < ch; c++) out[(y * w + x) * ch + c] = a[(sy * w + sx) * ch + c];
    }
  }
  return out;
}

Deno.test("predictProbabilities: flips TTA = mean of the un-flipped predictions of flipped tiles", () => {
  // an asymmetric 3×3 kernel: the model is not flip-equivariant
  const rng = new Rng(11);
  const kernel = Array.from(
    { length: 3 },
    () => Array.from({ length: 3 }, () => Array.from({ length: 3 }, () => rng.normal())),
  );
  const model = convModel(kernel, -0.2);
  const s = 16;
  const img = randomImage(s, s, 9);
  // reference straight from the model, one tile = one window
  const direct = (rgb: Uint8Array) =>
    tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(rgb, (v) => v / 255), [1, s, s, 3]);
      return tf.sigmoid(model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    });
  const plain = predictProbabilities(model, img, { tileSizePx: s, normalize: null });
  assertClose(plain, direct(img.rgb), 1e-6, "no TTA vs model.predict");
  const want = new Float32Array(s * s);
  for (const [hf, vf] of [[false, false], [true, false], [false, true], [true, true]]) {
    const p = direct(flip(img.rgb, s, s, 3, hf, vf));
    const back = flip(p, s, s, 1, hf, vf);
    for (let i = 0; i < want.length; i++) want[i] += back[i] / 4;
  }
  const tta = predictProbabilities(model, img, { tileSizePx: s, normalize: null, tta: "flips" });
  assertClose(tta, want, 1e-6, "flips TTA");
  let differs = 0;
  for (let i = 0; i < tta.length; i++) if (Math.abs(tta[i] - plain[i]) > 1e-4) differs++;
  assert.ok(differs > 0, "TTA should change an asymmetric model's output");
  model.dispose();
});

Deno.test("predictManyAsync: batches across images give each image's own map", async () => {
  // A 3×3 kernel (borders matter) and images of different sizes, scales and window counts; batch
  // sizes that split an image's windows over two batches and put several images in one.
  const model = convModel([[W1, W1, W1], [W1, W1, W1], [W1, W1, W1]], B1);
  const images = [randomImage(40, 33, 3), randomImage(16, 16, 4), randomImage(5, 9, 5)];
  for (
    const opts of [
      { tileSizePx: 16, normalize: null, batchSize: 3 },
      { tileSizePx: 8, scale: 0.5, normalize: null, batchSize: 4, tta: "flips" as const },
    ]
  ) {
    const alone = images.map((img) => predictProbabilities(model, img, opts));
    const many = await predictManyAsync(model, images, opts);
    assert.equal(many.length, 3);
    many.forEach((m, i) => assertClose(m, alone[i], 1e-7, `image ${i}`));
  }
  model.dispose();
});

Deno.test("predictProbabilities: no tensor is left behind (tf.memory().numTensors)", async () => {
  const model = convModel([[W1]], B1);
  const img = randomImage(40, 33, 2);
  predictProbabilities(model, img, { tileSizePx: 16, normalize: null }); // warm-up
  const before = tf.memory().numTensors;
  for (const tta of ["none", "flips"] as const) {
    predictProbabilities(model, img, { tileSizePx: 16, scale: 0.5, normalize: null, tta });
    await predictProbabilitiesAsync(model, img, {
      tileSizePx: 16,
      scale: 0.5,
      normalize: null,
      tta,
    });
  }
  const after = tf.memory().numTensors;
  console.log(`  numTensors before ${before}, after ${after}`);
  assert.equal(after, before);
  model.dispose();
});

Deno.test("loadArtifact: run or checkpoint, scale, window and normalisation from the checkpoint", async () => {
  const root = await Deno.makeTempDir();
  try {
    const model = convModel([[W1]], B1);
    const { run, manifest } = await writeRunAround(root, model, { scale: 0.5, tileSizePx: 16 });
    model.dispose();
    const a = await loadArtifact(run);
    assert.equal(a.dir, join(run, "checkpoints", "epoch-0001"));
    assert.equal(a.inference.scale, 0.5);
    assert.equal(a.inference.tileSizePx, 16);
    assert.deepEqual(a.inference.normalize, { mean: manifest.stats.mean, std: manifest.stats.std });
    a.model.dispose();
    const b = await loadArtifact(join(run, "checkpoints", "epoch-0001"));
    assert.equal(b.dir, join(run, "checkpoints", "epoch-0001"));
    b.model.dispose();
    // --normalize none → null
    const root2 = join(root, "none");
    const m2 = convModel([[W1]], B1);
    const r2 = await writeRunAround(root2, m2, { normalize: "none" });
    m2.dispose();
    const c = await loadArtifact(r2.run);
    assert.equal(c.inference.normalize, null);
    c.model.dispose();
    // the checkpoint carries its inference metadata: the prepared dataset gone changes nothing
    await Deno.remove(join(root, "prepared", "manifest.json"));
    const d = await loadArtifact(run);
    assert.deepEqual(d.inference, a.inference);
    d.model.dispose();
    await assert.rejects(loadArtifact(join(root, "nope")), /nope: no such folder/);
    await assert.rejects(loadArtifact(join(root, "prepared")), /neither a checkpoint/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
