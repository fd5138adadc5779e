import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { WeightAverage } from "./ema.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

function twoWeightModel() {
  const input = tf.input({ shape: [2] });
  const dense = tf.layers.dense({ units: 1, kernelInitializer: "ones", biasInitializer: "zeros" });
  const model = tf.model({ inputs: input, outputs: dense.apply(input) as tf.SymbolicTensor });
  return { model, dense };
}

Deno.test("ema: ema ← d·ema + (1 − d)·w after each step (by hand), leak-free", async () => {
  const { model, dense } = twoWeightModel();

  const ema = new WeightAverage(model, 0.9);
  // step 1: kernel [1, 1] → [3, 5], bias 0 → 2
  tf.tidy(() => dense.setWeights([tf.tensor2d([[3], [5]]), tf.tensor1d([2])]));
  ema.update(model);
  // kernel 0.9·1 + 0.1·3 = 1.2, 0.9·1 + 0.1·5 = 1.4; bias 0.1·2 = 0.2
  // step 2: kernel → [−1, 1], bias → 0: 0.9·1.2 − 0.1 = 0.98, 0.9·1.4 + 0.1 = 1.36; 0.18
  tf.tidy(() => dense.setWeights([tf.tensor2d([[-1], [1]]), tf.tensor1d([0])]));
  ema.update(model);
  const [k, b] = ema.values();
  assert.deepEqual([...k].map((v) => +v.toFixed(6)), [0.98, 1.36]);
  assert.equal(+b[0].toFixed(6), 0.18);
  // the model runs with the averages inside withAveraged, and gets its raw weights back
  const x = tf.tensor2d([[1, 1]]);
  const inside = await ema.withAveraged(
    model,
    () => Promise.resolve((model.predict(x) as tf.Tensor).dataSync()[0]),
  );
  assert.ok(Math.abs(inside - (0.98 + 1.36 + 0.18)) < 1e-6, `${inside}`);
  assert.deepEqual([...dense.weights[0].read().dataSync()], [-1, 1]);
  x.dispose();
  const beforeDispose = tf.memory().numTensors;
  ema.dispose();
  assert.equal(beforeDispose - tf.memory().numTensors, 2, "the two shadow variables freed");
  model.dispose();
});
