import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { flipTransposeFilter, makeConv2DBackpropInput } from "./conv2d_backprop_input.ts";
import { randomArray, relL2, runOn } from "./testing.ts";

Deno.test("flipTransposeFilter by hand: W′[i, j, co, ci] = W[kh−1−i, kw−1−j, ci, co]", () => {
  // W: [2, 1, 1, 2] = [[[[1, 2]]], [[[3, 4]]]] → W′: [2, 1, 2, 1] = [[[[3], [4]]], [[[1], [2]]]]
  assert.deepEqual([...flipTransposeFilter(new Float32Array([1, 2, 3, 4]), 2, 1, 1, 2)], [
    3,
    4,
    1,
    2,
  ]);
  // W: [1, 1, 2, 3] (ci = 2, co = 3) → W′: [1, 1, 3, 2]
  const w = new Float32Array([1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...flipTransposeFilter(w, 1, 1, 2, 3)], [1, 4, 2, 5, 3, 6]);
});

interface Case {
  name: string;
  inputShape: [number, number, number, number];
  k: number;
  cout: number;
  stride: number;
  pad: "same" | "valid";
}

// The two rewritten cases (stride 1; filter = stride, no padding) with odd sizes.
const CASES: Case[] = [
  { name: "3x3 same s1 odd 7x9", inputShape: [2, 7, 9, 3], k: 3, cout: 4, stride: 1, pad: "same" },
  { name: "2x2 same s1 odd 5x7", inputShape: [2, 5, 7, 2], k: 2, cout: 3, stride: 1, pad: "same" },
  { name: "3x3 valid s1 6x5", inputShape: [1, 6, 5, 2], k: 3, cout: 2, stride: 1, pad: "valid" },
  { name: "1x1 same s1 3x5", inputShape: [3, 3, 5, 4], k: 1, cout: 2, stride: 1, pad: "same" },
  { name: "2x2 valid s2 10x6", inputShape: [2, 10, 6, 3], k: 2, cout: 5, stride: 2, pad: "valid" },
];

function inputGrad(c: Case): () => tf.Tensor[] {
  const [n, h, w, ci] = c.inputShape;
  const info = tf.backend_util.computeConv2DInfo(
    c.inputShape,
    [c.k, c.k, ci, c.cout],
    c.stride,
    1,
    c.pad,
  );
  const dyShape: [number, number, number, number] = [n, info.outHeight, info.outWidth, c.cout];
  const dya = randomArray(5, dyShape.reduce((p, q) => p * q));
  const fa = randomArray(6, c.k * c.k * ci * c.cout);
  void h, w;
  return () => [
    tf.conv2dTranspose(
      tf.tensor4d(dya, dyShape),
      tf.tensor4d(fa, [c.k, c.k, ci, c.cout]),
      c.inputShape,
      c.stride,
      c.pad,
    ),
  ];
}

Deno.test("wasm Conv2DBackpropInput rewrite equals stock cpu without falling back to the stock kernel", async () => {
  const refs = [];
  for (const c of CASES) refs.push((await runOn("cpu", true, inputGrad(c)))[0]);
  await runOn("wasm", false, () => []);
  const ours = tf.getKernel("Conv2DBackpropInput", "wasm");
  assert.ok(ours !== undefined);
  tf.unregisterKernel("Conv2DBackpropInput", "wasm");
  tf.registerKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    kernelFunc: makeConv2DBackpropInput(() => {
      throw new Error("fell back to the stock kernel");
    }),
  });
  try {
    for (let i = 0; i < CASES.length; i++) {
      const got = tf.tidy(() => inputGrad(CASES[i])()[0].dataSync() as Float32Array);
      const err = relL2(got, refs[i]);
      assert.ok(err <= 1e-4, `${CASES[i].name}: relative L2 ${err.toExponential(2)}`);
    }
  } finally {
    tf.unregisterKernel("Conv2DBackpropInput", "wasm");
    tf.registerKernel(ours);
  }
});
