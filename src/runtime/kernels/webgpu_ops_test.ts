/**
 * The other webgpu kernels of a U-Net training step at N·H·W ≥ 65 536, against stock cpu.
 *
 * Mesa's software drivers stop a shader loop after 65 535 iterations. tfjs-webgpu's reduce program
 * splits each reduction over a 64–512-thread workgroup (≤ reduceSize / 64 iterations per thread),
 * conv2d forward and its input gradient loop over Cin·kh·kw only, max-pool gradient over the
 * window; this test checks that none of them is truncated at these sizes.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { hasWebGpuAdapter, randomArray, relL2, runOn } from "./testing.ts";

const gpu = await hasWebGpuAdapter();

// x: [2, 256, 256, 2] → N·H·W = 131 072 per channel, twice Mesa's loop cap.
const SHAPE: [number, number, number, number] = [2, 256, 256, 2];

/** Batch-norm statistics, ReLU, 2×2 max-pool and a mean loss, with the input gradient. */
function step(): tf.Tensor[] {
  const size = SHAPE.reduce((p, q) => p * q);
  const x = tf.tensor4d(randomArray(3, size), SHAPE);
  const r = tf.tensor4d(randomArray(4, size / 4), [SHAPE[0], SHAPE[1] / 2, SHAPE[2] / 2, SHAPE[3]]);
  const f = (xx: tf.Tensor) => {
    const { mean, variance } = tf.moments(xx, [0, 1, 2]);
    // tf.layers.batchNormalization in training: moments, then the FusedBatchNorm kernel.
    const bn = tf.batchNorm(xx, mean, variance, tf.tensor1d([0.1, -0.2]), tf.tensor1d([1.5, 0.5]));
    const pooled = tf.maxPool(tf.relu(bn) as tf.Tensor4D, 2, 2, "valid");
    return tf.mean(tf.mul(pooled, r));
  };
  const { value, grad } = tf.valueAndGrad(f)(x);
  const sum = tf.sum(x, [0, 1, 2]);
  const mean = tf.mean(x);
  return [value, grad, sum, mean];
}

Deno.test({
  name:
    `webgpu batch-norm statistics, ReLU, max-pool and their gradients at N·H·W ≥ 65 536 equal cpu${
      gpu ? "" : " — skipped: no WebGPU adapter"
    }`,
  ignore: !gpu,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const ref = await runOn("cpu", true, step);
    const got = await runOn("webgpu", false, step);
    const labels = ["loss", "dx", "sum over N·H·W", "mean of all"];
    for (let i = 0; i < ref.length; i++) {
      const err = relL2(got[i], ref[i]);
      assert.ok(err <= 1e-4, `${labels[i]}: relative L2 ${err.toExponential(2)}`);
    }
  },
});
