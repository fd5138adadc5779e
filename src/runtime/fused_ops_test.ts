import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { randomArray, relL2, runOn } from "./kernels/testing.ts";
import { batchNormTrain, FUSED_KERNELS, reluGrad, useFusedTrainingBatchNorm } from "./fused_ops.ts";

const EPS = 1e-3;

/** Random x [2, 5, 7, C] (offset so the mean matters), γ, β and a weighting r for the loss. */
function inputs(c: number) {
  const shape = [2, 5, 7, c];
  const n = 2 * 5 * 7 * c;
  return {
    x: tf.tensor(randomArray(1, n).map((v) => 3 + 2 * v), shape),
    gamma: tf.tensor1d(randomArray(2, c).map((v) => 1 + 0.5 * v)),
    beta: tf.tensor1d(randomArray(3, c)),
    r: tf.tensor(randomArray(4, n), shape),
  };
}

/** y, mean, variance and the gradients of sum(y·r) by x, γ, β through `bn`. */
function outputs(
  c: number,
  bn: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => [tf.Tensor, tf.Tensor, tf.Tensor],
): () => tf.Tensor[] {
  return () => {
    const { x, gamma, beta, r } = inputs(c);
    const [y, mean, variance] = bn(x, gamma, beta);
    const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(bn(a, g, b)[0], r))
    )([x, gamma, beta]);
    return [y, mean, variance, ...grads];
  };
}

/** tfjs's own composition, as tfjs-layers' BatchNormalization uses it in training. */
const stockBn = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] => {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return [tf.batchNorm(x, mean, variance, b, g, EPS), mean, variance];
};

const fusedBn = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] => {
  const { y, mean, variance } = batchNormTrain(x, g, b, EPS);
  return [y, mean, variance];
};

const LABELS = ["y", "mean", "variance", "dx", "dgamma", "dbeta"];

function assertClose(got: Float32Array[], ref: Float32Array[], label: string): void {
  for (let i = 0; i < ref.length; i++) {
    const err = relL2(got[i], ref[i]);
    assert.ok(err <= 1e-4, `${label} ${LABELS[i] ?? i}: relative L2 ${err.toExponential(2)}`);
  }
}

/** Names of the kernels `fn` runs on the active backend. */
async function kernelsOf(fn: () => tf.Tensor[]): Promise<Set<string>> {
  const info = await tf.profile(() => {
    const outs = fn();
    tf.dispose(outs);
    return [];
  });
  return new Set(info.kernels.map((k) => k.name));
}

Deno.test("batchNormTrain equals tfjs's moments + batchNorm and their gradients (stock cpu)", async () => {
  for (const c of [8, 6]) {
    const ref = await runOn("cpu", true, outputs(c, stockBn));
    // cpu: the composite formulas (no fused kernels there)
    assertClose(await runOn("cpu", false, outputs(c, fusedBn)), ref, `cpu C=${c}`);
    // wasm: the fused kernels when C % 4 == 0, the composite formulas otherwise
    assertClose(await runOn("wasm", false, outputs(c, fusedBn)), ref, `wasm C=${c}`);
    const ran = await kernelsOf(outputs(c, fusedBn));
    assert.equal(ran.has(FUSED_KERNELS.batchNormTrain), c % 4 === 0, `C=${c}: forward kernel`);
    assert.equal(ran.has(FUSED_KERNELS.batchNormTrainGrad), c % 4 === 0, `C=${c}: grad kernel`);
  }
});

Deno.test("batchNormTrain by hand: 2 channels, 2 rows", () => {
  // Channel 0: 1, 3 → mean 2, variance 1; channel 1: 10, 30 → mean 20, variance 100.
  const { y, mean, variance } = batchNormTrain(
    tf.tensor2d([[1, 10], [3, 30]]),
    tf.tensor1d([2, 1]),
    tf.tensor1d([0, 5]),
    0,
  );
  assert.deepEqual([...mean.dataSync()], [2, 20]);
  assert.deepEqual([...variance.dataSync()], [1, 100]);
  assert.deepEqual([...y.dataSync()], [-2, 4, 2, 6]);
  tf.dispose([y, mean, variance]);
});

Deno.test("reluGrad equals dy·step(x) and runs one fused kernel on wasm", async () => {
  const f = () => {
    const x = tf.tensor(randomArray(5, 3 * 4 * 8).map((v, i) => i % 5 === 0 ? 0 : v), [3, 4, 8]);
    const dy = tf.tensor(randomArray(6, 3 * 4 * 8), [3, 4, 8]);
    return [reluGrad(dy, x), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), dy)))(x)];
  };
  const ref = await runOn("cpu", true, () => {
    const x = tf.tensor(randomArray(5, 3 * 4 * 8).map((v, i) => i % 5 === 0 ? 0 : v), [3, 4, 8]);
    const dy = tf.tensor(randomArray(6, 3 * 4 * 8), [3, 4, 8]);
    const stock = tf.mul(dy, tf.step(x));
    return [stock, stock];
  });
  for (const backend of ["cpu", "wasm"] as const) {
    const got = await runOn(backend, false, f);
    // v + 0 makes −0 (dy·0 for dy < 0) and +0 equal.
    const plain = (a: Float32Array) => [...a].map((v) => v + 0);
    assert.deepEqual(plain(got[0]), plain(ref[0]), `${backend} reluGrad`);
    assert.deepEqual(plain(got[1]), plain(ref[1]), `${backend} gradient of relu`);
  }
  assert.ok((await kernelsOf(f)).has(FUSED_KERNELS.reluGrad));
});

Deno.test("useFusedTrainingBatchNorm: same outputs and gradients as the stock layer; moving variance unbiased", async () => {
  for (const backend of ["cpu", "wasm"] as const) {
    await runOn(backend, false, () => []);
    const make = (fused: boolean) => {
      const layer = tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: EPS });
      if (fused) useFusedTrainingBatchNorm(layer);
      layer.build([null, 5, 7, 8]);
      const g = randomArray(7, 8).map((v) => 1 + 0.3 * v), b = randomArray(8, 8);
      const mm = randomArray(9, 8), mv = randomArray(10, 8).map((v) => 1 + Math.abs(v));
      layer.setWeights([tf.tensor1d(g), tf.tensor1d(b), tf.tensor1d(mm), tf.tensor1d(mv)]);
      return layer;
    };
    const [stock, fused] = [make(false), make(true)];
    const { x, r } = inputs(8);
    const results = [stock, fused].map((layer) => {
      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar,
        vars,
      );
      const infer = layer.apply(x, { training: false }) as tf.Tensor;
      const out = [
        value.dataSync(),
        ...vars.map((v) => grads[v.name].dataSync()),
        ...layer.getWeights().slice(2).map((w) => w.dataSync()), // moving mean and variance
        infer.dataSync(),
      ].map((a) => Float32Array.from(a));
      tf.dispose([value, ...Object.values(grads), infer]);
      return out;
    });
    // The stock layer updates the moving variance with the biased batch variance v; the fused
    // one, like PyTorch, with v·n/(n − 1): by hand, stock = 0.9·mv + 0.1·v, fused = stock +
    // 0.1·v/(n − 1), with v recovered from the stock update.
    const n = x.size / 8;
    const mv0 = randomArray(10, 8).map((v) => 1 + Math.abs(v));
    results[0][4] = results[0][4].map((s, k) => {
      const v = (s - 0.9 * mv0[k]) / 0.1;
      return s + (0.1 * v) / (n - 1);
    });
    // Inference normalises with the moving statistics, now different: the fused layer's output
    // is checked against the formula on its own statistics, γ·(x − m)/√(v + ε) + β.
    {
      const [gm, bt, mm, mv] = fused.getWeights().map((w) => w.dataSync());
      const xs = x.dataSync();
      results[0][5] = Float32Array.from(xs, (xv, i) => {
        const k = i % 8;
        return gm[k] * (xv - mm[k]) / Math.sqrt(mv[k] + EPS) + bt[k];
      });
    }
    const labels = ["loss", "dgamma", "dbeta", "moving mean", "moving variance", "inference"];
    for (let i = 0; i < labels.length; i++) {
      const err = relL2(results[1][i], results[0][i]);
      assert.ok(err <= 1e-4, `${backend} ${labels[i]}: relative L2 ${err.toExponential(2)}`);
    }
    tf.dispose([x, r]);
    for (const w of [...stock.weights, ...fused.weights]) w.dispose();
  }
});

Deno.test("fused batch norm: running statistics and output equal PyTorch's BatchNorm2d (golden)", async () => {
  // fixtures/torch/bn_golden.json: PyTorch 1.13, three training batches (see its README)
  const g = JSON.parse(
    await Deno.readTextFile(new URL("../../fixtures/torch/bn_golden.json", import.meta.url)),
  );
  const [n, h, w, c] = g.shape;
  await tf.setBackend("cpu");
  const input = tf.input({ shape: [h, w, c] });
  const bnLayer = tf.layers.batchNormalization({ momentum: 1 - g.momentum, epsilon: g.eps });
  const model = tf.model({ inputs: input, outputs: bnLayer.apply(input) as tf.SymbolicTensor });
  useFusedTrainingBatchNorm(bnLayer);
  let worst = 0;
  const close = (got: ArrayLike<number>, want: number[], what: string) => {
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(got[i] - want[i]);
      worst = Math.max(worst, d);
      assert.ok(
        d <= 2e-6 * Math.max(1, Math.abs(want[i])),
        `${what}[${i}]: ${got[i]} vs ${want[i]}`,
      );
    }
  };
  let lastY: Float32Array | undefined;
  g.batches.forEach((values: number[], step: number) => {
    const y = tf.tidy(() =>
      (model.apply(tf.tensor4d(values, [n, h, w, c]), { training: true }) as tf.Tensor).dataSync()
    ) as Float32Array;
    lastY = y;
    const [, , mean, variance] = bnLayer.getWeights();
    close(mean.dataSync(), g.running[step].mean, `running mean after batch ${step + 1}`);
    close(variance.dataSync(), g.running[step].var, `running var after batch ${step + 1}`);
  });
  close(lastY!, g.lastOutput, "output of batch 3");
  console.log(`  largest difference from PyTorch ${worst.toExponential(2)}`);
  model.dispose();
});
