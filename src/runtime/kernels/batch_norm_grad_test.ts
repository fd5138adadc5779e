import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { makeBatchNormGrad } from "./batch_norm_grad.ts";
import { randomArray, relL2, runOn } from "./testing.ts";

/** Gradients of sum(batchNorm(x; moments(x), γ, β) · r) wrt x, γ, β, as in layer training. */
function bnGrads(shape: Shape4): () => tf.Tensor[] {
  const size = shape.reduce((p, q) => p * q);
  const c = shape[3];
  const xa = randomArray(21, size), ra = randomArray(22, size);
  const ga = randomArray(23, c), ba = randomArray(24, c);
  return () => {
    const x = tf.tensor4d(xa, shape), r = tf.tensor4d(ra, shape);
    const g = tf.tensor1d(ga), b = tf.tensor1d(ba);
    const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, [0, 1, 2]);
      const y = tf.batchNorm(xx, mean, variance, bb, gg, 1e-5);
      return tf.sum(tf.mul(y, r));
    };
    const { value, grads } = tf.valueAndGrads(f)([x, g, b]);
    return [value, ...grads];
  };
}

type Shape4 = [number, number, number, number];
const SHAPES: Shape4[] = [[2, 5, 7, 3], [1, 9, 3, 4], [3, 4, 4, 1]];

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`${backend}: project FusedBatchNorm gradient equals tfjs's on stock cpu`, async () => {
    for (const shape of SHAPES) {
      const ref = await runOn("cpu", true, bnGrads(shape));
      const got = await runOn(backend, false, bnGrads(shape));
      const names = ["loss", "dx", "dγ", "dβ"];
      for (let i = 0; i < ref.length; i++) {
        const err = relL2(got[i], ref[i]);
        assert.ok(err <= 1e-4, `${shape} ${names[i]}: relative L2 ${err.toExponential(2)}`);
      }
    }
  });
}

Deno.test("FusedBatchNorm gradient: registration swaps the gradient and restores tfjs's", async () => {
  await runOn("cpu", true, () => []);
  const stock = tf.getGradient("FusedBatchNorm");
  assert.ok(stock !== undefined);
  await runOn("cpu", false, () => []);
  const ours = tf.getGradient("FusedBatchNorm");
  assert.ok(ours !== undefined && ours.gradFunc !== stock.gradFunc);
  await runOn("cpu", true, () => []);
  assert.equal(tf.getGradient("FusedBatchNorm")?.gradFunc, stock.gradFunc);
  assert.equal(makeBatchNormGrad(stock).kernelName, "FusedBatchNorm");
});
