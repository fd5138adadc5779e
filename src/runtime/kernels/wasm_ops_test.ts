import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { randomArray, relL2, runOn } from "./testing.ts";
import * as wasmOps from "./wasm_ops.ts";
import type { ChannelBinaryKernel } from "./wasm_ops.ts";

const noStock: tf.KernelFunc = () => {
  throw new Error("fell back to the stock kernel");
};

/**
 * Runs `fn` on wasm with `kernelName` replaced by `make(noStock)` (so a fallback fails the test)
 * and returns its outputs; the project kernel is put back afterwards.
 */
async function onWasmFastPath(
  kernelName: string,
  make: (stock: tf.KernelFunc) => tf.KernelFunc,
  fn: () => tf.Tensor[],
): Promise<Float32Array[]> {
  await runOn("wasm", false, () => []);
  const ours = tf.getKernel(kernelName, "wasm")!;
  tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: make(noStock) });
  try {
    const outs = tf.tidy(fn);
    const arrays = outs.map((t) => Float32Array.from(t.dataSync() as Float32Array));
    tf.dispose(outs);
    return arrays;
  } finally {
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel(ours);
  }
}

/** Asserts that `fn` gives the stock cpu result (relative L2 ≤ 1e-4) on the wasm fast path. */
async function matchesCpu(
  label: string,
  kernelName: string,
  make: (stock: tf.KernelFunc) => tf.KernelFunc,
  fn: () => tf.Tensor[],
): Promise<void> {
  const ref = await runOn("cpu", true, fn);
  const got = await onWasmFastPath(kernelName, make, fn);
  assert.equal(got.length, ref.length, label);
  for (let i = 0; i < ref.length; i++) {
    const err = relL2(got[i], ref[i]);
    assert.ok(err <= 1e-4, `${label} output ${i}: relative L2 ${err.toExponential(2)}`);
  }
}

/** Standard-normal values plus `shift` (added in JS: the tensor ops under test stay untouched). */
const t = (seed: number, shape: number[], shift = 0) =>
  tf.tensor(randomArray(seed, shape.reduce((a, b) => a * b, 1)).map((v) => v + shift), shape);

Deno.test("wasm Sum and Mean over all axes but the last equal stock cpu (odd sides, keepDims)", async () => {
  for (
    const [shape, keepDims, axis] of [
      [[3, 5, 7, 8], false, [0, 1, 2]],
      [[2, 9, 4], true, [0, 1]],
      [[1000, 12], false, [0]],
      [[600, 7, 4], false, [-3, -2]],
    ] as [number[], boolean, number[]][]
  ) {
    // A large offset makes naive f32 accumulation drift: the blocked sum must stay close.
    const fn = () => [tf.sum(t(1, shape, 100), axis, keepDims)];
    await matchesCpu(`Sum ${shape}`, "Sum", (s) => wasmOps.makeChannelReduce(false, s), fn);
    const fm = () => [tf.mean(t(2, shape), axis, keepDims)];
    await matchesCpu(`Mean ${shape}`, "Mean", (s) => wasmOps.makeChannelReduce(true, s), fm);
  }
  const shape = await runOn("wasm", false, () => [tf.sum(t(1, [2, 3, 4]), [0, 1], true)]);
  assert.equal(shape[0].length, 4);
});

Deno.test("wasm Sum over other axes, or odd channel counts, falls back and still equals stock cpu", async () => {
  for (
    const fn of [
      () => [tf.sum(t(3, [3, 5, 6]), -1)],
      () => [tf.sum(t(3, [3, 5, 6]), [0, 1])], // 6 channels: not a multiple of 4
      () => [tf.mean(t(4, [4, 8]))],
      () => [tf.sum(t(5, [2, 3, 4]), [1, 2])],
    ]
  ) {
    const ref = await runOn("cpu", true, fn);
    const got = await runOn("wasm", false, fn);
    assert.ok(relL2(got[0], ref[0]) <= 1e-5);
  }
});

Deno.test("wasm FusedBatchNorm equals stock cpu, with and without scale and offset", async () => {
  const c = 12;
  const stats = () => ({
    mean: t(11, [c]),
    variance: tf.tensor(randomArray(12, c).map((v) => Math.abs(v) + 0.1)),
    offset: t(13, [c]),
    scale: t(14, [c]),
  });
  const x = () => t(10, [2, 5, 3, c], 3);
  await matchesCpu("batchNorm", "FusedBatchNorm", wasmOps.makeFusedBatchNorm, () => {
    const s = stats();
    return [tf.batchNorm(x(), s.mean, s.variance, s.offset, s.scale, 1e-5)];
  });
  await matchesCpu(
    "batchNorm without scale/offset",
    "FusedBatchNorm",
    wasmOps.makeFusedBatchNorm,
    () => {
      const s = stats();
      return [tf.batchNorm(x(), s.mean, s.variance, undefined, undefined, 1e-3)];
    },
  );
});

Deno.test("wasm MaxPoolGrad 2x2 stride 2 equals stock cpu, ties (ReLU zeros) included", async () => {
  for (const shape of [[2, 6, 10, 4], [1, 4, 4, 16], [3, 2, 2, 8]]) {
    const fn = () => {
      // ReLU makes many windows all zero: the gradient must go to the first maximum.
      const x = tf.relu(t(20, shape));
      const dy = t(21, [shape[0], shape[1] / 2, shape[2] / 2, shape[3]]);
      return [
        tf.grad((v: tf.Tensor) => tf.mul(tf.maxPool(v as tf.Tensor4D, 2, 2, "valid"), dy))(x),
      ];
    };
    await matchesCpu(`MaxPoolGrad ${shape}`, "MaxPoolGrad", wasmOps.makeMaxPoolGrad, fn);
  }
});

Deno.test("wasm MaxPoolGrad by hand: ties go to the first maximum, an all −∞ window gets nothing", async () => {
  // One image, 2×4 pixels, 4 channels; window 1 (columns 0–1) and window 2 (columns 2–3).
  // Channel 0: window 1 = [1, 1; 0, 1] → first position; window 2 = [0, 2; 2, 2] → second.
  // Channel 1: window 1 = [−∞, −∞; −∞, −∞] → no gradient; window 2 = [3, 0; 0, 5] → fourth.
  // Channels 2, 3: all 0 → first position of each window.
  const ninf = -Infinity;
  const px = (c0: number, c1: number) => [c0, c1, 0, 0];
  const x = [
    ...px(1, ninf),
    ...px(1, ninf),
    ...px(0, 3),
    ...px(2, 0), // row 0
    ...px(0, ninf),
    ...px(1, ninf),
    ...px(2, 0),
    ...px(2, 5), // row 1
  ];
  const dy = [10, 20, 30, 40, 50, 60, 70, 80]; // [1, 1, 2, 4]
  const [dx] = await onWasmFastPath("MaxPoolGrad", wasmOps.makeMaxPoolGrad, () => {
    const xt = tf.tensor4d(x, [1, 2, 4, 4]);
    const dyt = tf.tensor4d(dy, [1, 1, 2, 4]);
    return [
      tf.grad((v: tf.Tensor) => tf.mul(tf.maxPool(v as tf.Tensor4D, 2, 2, "valid"), dyt))(xt),
    ];
  });
  const want = [
    ...[10, 0, 30, 40],
    ...[0, 0, 0, 0],
    ...[0, 0, 70, 80],
    ...[50, 0, 0, 0],
    ...[0, 0, 0, 0],
    ...[0, 0, 0, 0],
    ...[0, 0, 0, 0],
    ...[0, 60, 0, 0],
  ];
  assert.deepEqual([...dx], want);
});

Deno.test("wasm Concat and SplitV on the channel axis equal stock cpu", async () => {
  const parts = () => [t(30, [2, 3, 5, 4]), t(31, [2, 3, 5, 8]), t(32, [2, 3, 5, 4])];
  await matchesCpu("concat", "Concat", wasmOps.makeConcat, () => [tf.concat(parts(), -1)]);
  await matchesCpu(
    "concat 2-D",
    "Concat",
    wasmOps.makeConcat,
    () => [tf.concat([t(33, [7, 4]), t(34, [7, 12])], 1)],
  );
  await matchesCpu(
    "split",
    "SplitV",
    wasmOps.makeSplitV,
    () => tf.split(t(35, [2, 3, 5, 16]), [4, 8, 4], 3),
  );
  await matchesCpu(
    "split even",
    "SplitV",
    wasmOps.makeSplitV,
    () => tf.split(t(36, [3, 8]), 2, -1),
  );
});

Deno.test("wasm DepthToSpace equals stock cpu (block 2 and 3, odd sides)", async () => {
  await matchesCpu("d2s 2", "DepthToSpace", wasmOps.makeDepthToSpace, () => [
    tf.depthToSpace(t(37, [2, 3, 5, 16]) as tf.Tensor4D, 2),
  ]);
  await matchesCpu("d2s 3", "DepthToSpace", wasmOps.makeDepthToSpace, () => [
    tf.depthToSpace(t(38, [1, 2, 3, 36]) as tf.Tensor4D, 3),
  ]);
});

Deno.test("wasm per-channel Add, Sub, Multiply, RealDiv equal stock cpu, vector on either side", async () => {
  const ops: [ChannelBinaryKernel, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ["Add", tf.add],
    ["Sub", tf.sub],
    ["Multiply", tf.mul],
    ["RealDiv", tf.div],
  ];
  for (const [name, op] of ops) {
    for (const vshape of [[8], [1, 1, 1, 8], [1, 8]]) {
      const full = () => t(40, [2, 3, 5, 8]);
      const vec = () => t(41, vshape, 3); // away from 0 for RealDiv
      await matchesCpu(
        `${name} full∘${vshape}`,
        name,
        (s) => wasmOps.makeChannelBinary(name, s),
        () => [
          op(full(), vec()),
        ],
      );
      await matchesCpu(
        `${name} ${vshape}∘full`,
        name,
        (s) => wasmOps.makeChannelBinary(name, s),
        () => [
          op(vec(), full()),
        ],
      );
    }
  }
});

Deno.test("wasm Identity and same-dtype Cast share memory, survive the source's disposal and leak nothing", async () => {
  await runOn("wasm", false, () => []);
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const before = tf.memory().numTensors;
  const ids = backend.numDataIds();
  const x = tf.tensor([1, 2, 3, 4]);
  const y = tf.clone(x);
  const z = tf.cast(x, "float32");
  assert.equal(backend.numDataIds(), ids + 1); // one buffer, three tensors
  x.dispose();
  assert.deepEqual([...y.dataSync()], [1, 2, 3, 4]);
  y.dispose();
  assert.deepEqual([...z.dataSync()], [1, 2, 3, 4]);
  z.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.equal(backend.numDataIds(), ids);
  // Casting to another dtype still converts.
  const [ints] = await runOn("wasm", false, () => [
    tf.cast(tf.cast(tf.tensor([1.7, -2.2]), "int32"), "float32"),
  ]);
  assert.deepEqual([...ints], [1, -2]);
  const [same] = await onWasmFastPath(
    "Identity",
    wasmOps.makeIdentity,
    () => [tf.clone(tf.tensor([5]))],
  );
  assert.deepEqual([...same], [5]);
  const [cast] = await onWasmFastPath(
    "Cast",
    wasmOps.makeCast,
    () => [tf.cast(tf.tensor([6]), "float32")],
  );
  assert.deepEqual([...cast], [6]);
});

Deno.test("wasm training-step kernels leave no tensors and no heap buffers behind", async () => {
  await runOn("wasm", false, () => []);
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const x = t(50, [2, 8, 8, 4]);
  const gamma = tf.variable(t(51, [4]));
  const beta = tf.variable(t(52, [4]));
  const before = tf.memory().numTensors;
  const ids = backend.numDataIds();
  for (let i = 0; i < 2; i++) {
    const g = tf.tidy(() =>
      tf.grad((v: tf.Tensor) => {
        const { mean, variance } = tf.moments(v, [0, 1, 2]);
        const y = tf.relu(tf.batchNorm(v, mean, variance, beta, gamma, 1e-5));
        const pooled = tf.maxPool(y as tf.Tensor4D, 2, 2, "valid");
        const [a, b] = tf.split(tf.concat([pooled, pooled], -1), 2, -1);
        return tf.sum(tf.mul(a, b));
      })(x)
    );
    g.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  assert.equal(backend.numDataIds(), ids);
  tf.dispose([x, gamma, beta]);
});
