import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { OptimConfig } from "./config.ts";
import { Optimizer } from "./optim.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

/** Runs `steps` updates of one scalar weight `w0` with constant gradient `g`; returns w after each. */
function run(cfg: OptimConfig, w0: number, grads: number[]): number[] {
  const w = tf.variable(tf.scalar(w0));
  const opt = new Optimizer(cfg, [w]);
  const out: number[] = [];
  for (const g of grads) {
    tf.tidy(() => opt.apply([tf.scalar(g)]));
    out.push(w.dataSync()[0]);
  }
  opt.dispose();
  w.dispose();
  return out;
}

const close = (a: number, b: number, label: string) =>
  assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${label}: ${a} vs ${b}`);

Deno.test("optim: RMSprop follows PyTorch (eps outside the sqrt, momentum buffer, lr outside)", () => {
  // By hand, w0 = 1, g = 2, lr 0.01, momentum 0.9, alpha 0.99, eps 1e-8:
  // step 1: v = 0.01·4 = 0.04; b = 2/(0.2 + 1e-8) ≈ 10; w = 1 − 0.01·10 = 0.9
  // step 2: v = 0.99·0.04 + 0.04 = 0.0796; b = 0.9·10 + 2/√0.0796 = 16.08881; w = 0.9 − 0.1608881
  const ws = run({ name: "rmsprop", lr: 0.01, momentum: 0.9, weightDecay: 0, clipNorm: 0 }, 1, [
    2,
    2,
  ]);
  const b1 = 2 / (0.2 + 1e-8);
  close(ws[0], 1 - 0.01 * b1, "step 1");
  close(ws[1], 1 - 0.01 * b1 - 0.01 * (0.9 * b1 + 2 / (Math.sqrt(0.0796) + 1e-8)), "step 2");
  close(ws[1], 0.7391119, "step 2 (rounded by hand)");
});

Deno.test("optim: RMSprop's eps sits outside the square root (tiny gradients tell)", () => {
  // g = 1e-6, momentum 0, lr 0.01, alpha 0.99, eps 1e-8, by hand:
  // v = 0.01·1e-12 = 1e-14; √v = 1e-7; PyTorch: g/(√v + ε) = 1e-6/1.1e-7 = 9.0909…
  // w = 1 − 0.01·9.0909 = 0.909091. With ε inside the root (tfjs): g/√(v + ε) = 1e-6/√(1.000001e-8)
  // ≈ 0.01, w ≈ 0.9999: the two differ by 0.09, 5 orders above the tolerance.
  const ws = run({ name: "rmsprop", lr: 0.01, momentum: 0, weightDecay: 0, clipNorm: 0 }, 1, [
    1e-6,
  ]);
  close(ws[0], 1 - 0.01 * (1e-6 / (1e-7 + 1e-8)), "eps outside");
  close(ws[0], 0.9090909, "by hand");
});

Deno.test("optim: Adam bias correction, SGD momentum, weight decay and clipping", () => {
  // Adam step 1 moves by lr·sign(g) (m̂ = g, v̂ = g²): 1 − 0.1 = 0.9
  const a = run({ name: "adam", lr: 0.1, momentum: 0, weightDecay: 0, clipNorm: 0 }, 1, [3, 3]);
  close(a[0], 0.9, "adam step 1");
  // step 2, same g: m̂ = g, v̂ = g² again → another 0.1
  close(a[1], 0.8, "adam step 2");
  // SGD momentum 0.5: b1 = g = 1 → w = 1 − 0.1; b2 = 0.5 + 1 = 1.5 → w = 0.9 − 0.15
  const s = run({ name: "sgd", lr: 0.1, momentum: 0.5, weightDecay: 0, clipNorm: 0 }, 1, [1, 1]);
  close(s[0], 0.9, "sgd step 1");
  close(s[1], 0.75, "sgd step 2");
  // weight decay 0.5 on w = 2: g = 1 + 0.5·2 = 2 → w = 2 − 0.1·2 = 1.8
  close(
    run({ name: "sgd", lr: 0.1, momentum: 0, weightDecay: 0.5, clipNorm: 0 }, 2, [1])[0],
    1.8,
    "wd",
  );
  // clip-norm 1 on g = 4: g → 4·1/(4 + 1e-6) ≈ 1 → w = 1 − 0.1
  close(
    run({ name: "sgd", lr: 0.1, momentum: 0, weightDecay: 0, clipNorm: 1 }, 1, [4])[0],
    0.9,
    "clip",
  );
  // global norm over two variables: g = (3, 4), norm 5, clip 1 → (0.6, 0.8)
  const w1 = tf.variable(tf.scalar(0)), w2 = tf.variable(tf.scalar(0));
  const opt = new Optimizer({ name: "sgd", lr: 1, momentum: 0, weightDecay: 0, clipNorm: 1 }, [
    w1,
    w2,
  ]);
  const norm = tf.tidy(() => opt.apply([tf.scalar(3), tf.scalar(4)]));
  close(norm.dataSync()[0], 5, "norm before clipping");
  close(w1.dataSync()[0], -0.6, "clipped w1");
  close(w2.dataSync()[0], -0.8, "clipped w2");
  tf.dispose([norm, w1, w2]);
  opt.dispose();
});

Deno.test("optim: state round-trips through getState/setState", async () => {
  const cfg: OptimConfig = {
    name: "rmsprop",
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 1e-3,
    clipNorm: 0,
  };
  const wa = tf.variable(tf.tensor([1, -2])), wb = tf.variable(tf.tensor([1, -2]));
  const a = new Optimizer(cfg, [wa]);
  tf.tidy(() => a.apply([tf.tensor([0.5, 1])]));
  const b = new Optimizer(cfg, [wb]);
  b.setState(await a.getState());
  wb.assign(wa);
  tf.tidy(() => a.apply([tf.tensor([0.3, -1])]));
  tf.tidy(() => b.apply([tf.tensor([0.3, -1])]));
  assert.deepEqual(wa.dataSync(), wb.dataSync());
  assert.equal(b.step, 2);
  assert.throws(() =>
    new Optimizer({ ...cfg, name: "adam" }, [wb]).setState({ name: "rmsprop", step: 0, slots: {} })
  );
  a.dispose();
  b.dispose();
  tf.dispose([wa, wb]);
});
