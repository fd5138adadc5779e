import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { buildUNet, checkInputSize, countParams } from "./unet.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

/**
 * Parameter count of milesial's `UNet(n_channels, n_classes, bilinear=False)` generalised to any
 * depth/base, counted by hand from its modules (PyTorch counts BN gamma and beta, not the running
 * statistics): DoubleConv(in, out) = 9·in·out + 2·out + 9·out·out + 2·out (convs without bias);
 * Up = ConvTranspose2d(in, in/2, 2) with bias + DoubleConv(in, in/2); OutConv = Conv2d(base, 1, 1).
 */
function milesialParams(depth: number, base: number, inCh = 3, classes = 1): number {
  const dc = (i: number, o: number) => 9 * i * o + 2 * o + 9 * o * o + 2 * o;
  let n = dc(inCh, base);
  for (let k = 1; k <= depth; k++) n += dc(base * 2 ** (k - 1), base * 2 ** k);
  for (let k = depth; k >= 1; k--) {
    const i = base * 2 ** k, o = base * 2 ** (k - 1);
    n += 4 * i * o + o + dc(i, o);
  }
  return n + base * classes + classes;
}

Deno.test("unet: parameter count equals milesial's U-Net (31,037,633 at depth 4, base 64)", () => {
  assert.equal(milesialParams(4, 64), 31_037_633); // the number PyTorch prints for that model
  for (const [depth, base] of [[4, 64], [4, 16], [2, 4]]) {
    const model = buildUNet({ depth, baseFilters: base, batchNorm: true, seed: 1 });
    assert.equal(countParams(model), milesialParams(depth, base), `depth ${depth} base ${base}`);
    model.dispose();
  }
});

Deno.test("unet: output is one logit channel at input size; sides must be multiples of 2^depth", () => {
  const model = buildUNet({ depth: 2, baseFilters: 4, batchNorm: true, seed: 0 });
  const y = tf.tidy(() => model.predict(tf.zeros([2, 16, 24, 3])) as tf.Tensor);
  assert.deepEqual(y.shape, [2, 16, 24, 1]);
  y.dispose();
  model.dispose();
  assert.throws(() => checkInputSize(30, 32, 2), /multiples of 4, got 30×32/);
  checkInputSize(32, 64, 3);
});

Deno.test("unet: Kaiming init is seeded and has std sqrt(2/fan-in)", () => {
  const cfg = { depth: 2, baseFilters: 8, batchNorm: true, seed: 7 };
  const a = buildUNet(cfg), b = buildUNet(cfg), c = buildUNet({ ...cfg, seed: 8 });
  const wa = a.getWeights(), wb = b.getWeights(), wc = c.getWeights();
  assert.equal(wa.length, wb.length);
  let differs = 0;
  for (let i = 0; i < wa.length; i++) {
    assert.deepEqual(wa[i].dataSync(), wb[i].dataSync(), `weight ${i} differs for the same seed`);
    if (wa[i].size > 1 && tf.tidy(() => tf.any(tf.notEqual(wa[i], wc[i])).dataSync()[0])) differs++;
  }
  assert.ok(differs > 0, "a different seed gave the same weights");
  // down2_conv1: 3×3 kernel from 16 to 32 channels → fan-in 144, std sqrt(2/144) ≈ 0.118
  const layer = a.getLayer("down2_conv1");
  const k = layer.getWeights()[0].dataSync();
  assert.equal(k.length, 9 * 16 * 32);
  let s = 0, s2 = 0;
  for (const v of k) {
    s += v;
    s2 += v * v;
  }
  const m = s / k.length, sd = Math.sqrt(s2 / k.length - m * m);
  assert.ok(Math.abs(sd / Math.sqrt(2 / 144) - 1) < 0.05, `std ${sd}`);
  assert.ok(Math.abs(m) < 0.01, `mean ${m}`);
  for (const m of [a, b, c]) m.dispose();
});
