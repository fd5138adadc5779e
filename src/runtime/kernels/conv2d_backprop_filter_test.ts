import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  conv2dBackpropFilterPlanes,
  makeConv2DBackpropFilterMatMul,
} from "./conv2d_backprop_filter.ts";
import { hasWebGpuAdapter, randomArray, relL2, runOn } from "./testing.ts";

/** One convolution case; `transpose` tests conv2dTranspose (Conv2DBackpropInput forward). */
interface ConvCase {
  name: string;
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pad: "same" | "valid";
  transpose?: boolean;
}

// The U-Net's shapes (3×3 same s1, 2×2 s2 transposed, 1×1 head) plus odd sizes, stride 2 and
// 'valid' padding.
const CASES: ConvCase[] = [
  { name: "3x3 same s1 odd 7x9", n: 2, h: 7, w: 9, cin: 3, cout: 4, k: 3, stride: 1, pad: "same" },
  { name: "3x3 valid s2 9x8", n: 2, h: 9, w: 8, cin: 2, cout: 3, k: 3, stride: 2, pad: "valid" },
  { name: "3x3 same s2 odd 7x7", n: 1, h: 7, w: 7, cin: 3, cout: 2, k: 3, stride: 2, pad: "same" },
  { name: "2x2 same s1 odd 5x7", n: 2, h: 5, w: 7, cin: 2, cout: 3, k: 2, stride: 1, pad: "same" },
  {
    name: "2x2 valid s2 odd 9x7",
    n: 2,
    h: 9,
    w: 7,
    cin: 4,
    cout: 2,
    k: 2,
    stride: 2,
    pad: "valid",
  },
  { name: "1x1 same s1 odd 5x7", n: 3, h: 5, w: 7, cin: 5, cout: 1, k: 1, stride: 1, pad: "same" },
  {
    name: "transposed 2x2 s2 valid 5x3",
    n: 2,
    h: 5,
    w: 3,
    cin: 6,
    cout: 3,
    k: 2,
    stride: 2,
    pad: "valid",
    transpose: true,
  },
];

/** Forward output, input gradient and filter gradient of sum(conv(x, f) · r). */
function convGrads(c: ConvCase, seed: number): () => tf.Tensor[] {
  const xa = randomArray(seed, c.n * c.h * c.w * c.cin);
  // conv2dTranspose filters are [k, k, outChannels, inChannels].
  const fShape: [number, number, number, number] = c.transpose
    ? [c.k, c.k, c.cout, c.cin]
    : [c.k, c.k, c.cin, c.cout];
  const fa = randomArray(seed + 1, fShape.reduce((p, q) => p * q));
  const outShape: [number, number, number, number] = c.transpose
    ? [c.n, c.h * c.stride, c.w * c.stride, c.cout]
    : (() => {
      const info = tf.backend_util.computeConv2DInfo(
        [c.n, c.h, c.w, c.cin],
        fShape,
        c.stride,
        1,
        c.pad,
      );
      return [c.n, info.outHeight, info.outWidth, c.cout];
    })();
  const ra = randomArray(seed + 2, outShape.reduce((p, q) => p * q));
  return () => {
    const x = tf.tensor4d(xa, [c.n, c.h, c.w, c.cin]);
    const f = tf.tensor4d(fa, fShape);
    const r = tf.tensor4d(ra, outShape);
    const conv = (xx: tf.Tensor4D, ff: tf.Tensor4D): tf.Tensor4D =>
      c.transpose
        ? tf.conv2dTranspose(xx, ff, outShape, c.stride, c.pad)
        : tf.conv2d(xx, ff, c.stride, c.pad);
    const y = conv(x, f);
    const [dx, df] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
      tf.sum(tf.mul(conv(xx as tf.Tensor4D, ff as tf.Tensor4D), r))
    )([x, f]);
    return [y, dx, df];
  };
}

const TOL = 1e-4;
const LABELS = ["forward", "dx", "dW"];

async function compareCase(backend: "cpu" | "wasm" | "webgpu", c: ConvCase, seed: number) {
  const ref = await runOn("cpu", true, convGrads(c, seed));
  const got = await runOn(backend, false, convGrads(c, seed));
  for (let i = 0; i < ref.length; i++) {
    const err = relL2(got[i], ref[i]);
    assert.ok(
      err <= TOL,
      `${backend} ${c.name} ${LABELS[i]}: relative L2 ${err.toExponential(2)} > ${TOL}`,
    );
  }
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`${backend} conv2d forward and gradients equal stock cpu`, async () => {
    let seed = 10;
    for (const c of CASES) await compareCase(backend, c, seed += 3);
  });
}

// Tiny chunk limits force both chunking paths (several images per chunk; rows of one image).
const VARIANTS = [
  { method: "im2col", concatTaps: false },
  { method: "taps", concatTaps: false },
  { method: "taps", concatTaps: true },
] as const;
for (const { method, concatTaps } of VARIANTS) {
  for (const maxRows of [7, 40, 1 << 20]) {
    const variant = `${method}${concatTaps ? ", taps concatenated" : ""}`;
    Deno.test(`matmul filter gradient (${variant}, ≤ ${maxRows} rows a chunk) equals stock cpu`, async () => {
      const refs: Float32Array[] = [];
      for (const [i, c] of CASES.entries()) {
        refs.push((await runOn("cpu", true, convGrads(c, 60 + i)))[2]);
      }
      const stock = tf.getKernel("Conv2DBackpropFilter", "cpu");
      assert.ok(stock !== undefined);
      tf.unregisterKernel("Conv2DBackpropFilter", "cpu");
      tf.registerKernel({
        kernelName: "Conv2DBackpropFilter",
        backendName: "cpu",
        kernelFunc: makeConv2DBackpropFilterMatMul({
          maxRows,
          maxColElements: 1 << 22,
          method,
          concatTaps,
        }),
      });
      try {
        for (const [i, c] of CASES.entries()) {
          const got = tf.tidy(() => convGrads(c, 60 + i)()[2].dataSync() as Float32Array);
          const err = relL2(got, refs[i]);
          assert.ok(err <= TOL, `${c.name} dW: relative L2 ${err.toExponential(2)}`);
        }
      } finally {
        tf.unregisterKernel("Conv2DBackpropFilter", "cpu");
        tf.registerKernel(stock);
      }
    });
  }
}

Deno.test("wasm: stock tfjs-backend-wasm has no Conv2DBackpropFilter, ours makes training work", async () => {
  const c = CASES[0];
  await assert.rejects(
    () => runOn("wasm", true, convGrads(c, 1)),
    /Conv2DBackpropFilter/,
  );
  await compareCase("wasm", c, 1);
});

const gpu = await hasWebGpuAdapter();
const noGpu = "no WebGPU adapter (navigator.gpu missing or requestAdapter() gave null)";

Deno.test({
  name: `webgpu conv2d forward and gradients equal stock cpu (small shapes)${
    gpu ? "" : ` — skipped: ${noGpu}`
  }`,
  ignore: !gpu,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    for (const c of [CASES[0], CASES[4], CASES[6]]) await compareCase("webgpu", c, 40);
  },
});

// N·H·W = 65 536: the stock webgpu filter gradient loops over all of it in one shader invocation
// and Mesa's software drivers cut such loops at 65 535 iterations.
const BIG: ConvCase = {
  name: "1x256x256x2->2 3x3 same",
  n: 1,
  h: 256,
  w: 256,
  cin: 2,
  cout: 2,
  k: 3,
  stride: 1,
  pad: "same",
};

Deno.test({
  name: `webgpu filter gradient with N·H·W ≥ 65 536 equals stock cpu${
    gpu ? "" : ` — skipped: ${noGpu}`
  }`,
  ignore: !gpu,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const ref = await runOn("cpu", true, convGrads(BIG, 7));
    const stock = await runOn("webgpu", true, convGrads(BIG, 7));
    const ours = await runOn("webgpu", false, convGrads(BIG, 7));
    // The stock kernel's error is printed, not asserted: it is only wrong on drivers that cap loops.
    console.log(
      `  dW relative L2 vs cpu: stock webgpu ${relL2(stock[2], ref[2]).toExponential(2)}, ` +
        `project kernel ${relL2(ours[2], ref[2]).toExponential(2)}`,
    );
    for (let i = 0; i < ref.length; i++) {
      const err = relL2(ours[i], ref[i]);
      assert.ok(err <= TOL, `webgpu ${BIG.name} ${LABELS[i]}: relative L2 ${err.toExponential(2)}`);
    }
  },
});

/**
 * Runs `cases` with `kernelFunc` as wasm's `Conv2DBackpropFilter`: dW within TOL of the stock cpu
 * backend and no backend data left behind; the project kernel is put back afterwards. Before each
 * case freed heap memory is poisoned with NaN, so that a buffer cell a kernel forgets to zero
 * shows up instead of a lucky 0 (freed memory is handed out again).
 */
async function checkWasmFilterGrad(
  cases: ConvCase[],
  seed: number,
  kernelFunc: tf.KernelFunc,
): Promise<void> {
  const refs: Float32Array[] = [];
  for (const [i, c] of cases.entries()) {
    refs.push((await runOn("cpu", true, convGrads(c, seed + i)))[2]);
  }
  await runOn("wasm", false, () => []);
  const ours = tf.getKernel("Conv2DBackpropFilter", "wasm");
  assert.ok(ours !== undefined);
  tf.unregisterKernel("Conv2DBackpropFilter", "wasm");
  tf.registerKernel({ kernelName: "Conv2DBackpropFilter", backendName: "wasm", kernelFunc });
  try {
    for (const [i, c] of cases.entries()) {
      tf.fill([1 << 20], NaN).dispose();
      const before = tf.engine().backend.numDataIds();
      const got = tf.tidy(() => convGrads(c, seed + i)()[2].dataSync() as Float32Array);
      const err = relL2(got, refs[i]);
      assert.ok(err <= TOL, `${c.name} dW: relative L2 ${err.toExponential(2)}`);
      assert.equal(tf.engine().backend.numDataIds(), before, `${c.name}: backend data`);
    }
  } finally {
    tf.unregisterKernel("Conv2DBackpropFilter", "wasm");
    tf.registerKernel(ours);
  }
}

// On wasm the taps method copies each tap straight from the wasm heap; the same chunk limits force
// its chunking paths (and a leak check, as every buffer is made on the heap by hand).
for (const concatTaps of [false, true]) {
  for (const maxRows of [7, 40, 1 << 20]) {
    const variant = `taps${concatTaps ? ", taps concatenated" : ""}`;
    Deno.test(`wasm matmul filter gradient (${variant}, ≤ ${maxRows} rows a chunk) equals stock cpu`, async () => {
      await checkWasmFilterGrad(
        CASES,
        70,
        makeConv2DBackpropFilterMatMul({
          maxRows,
          maxColElements: 1 << 22,
          method: "taps",
          concatTaps,
        }),
      );
    });
  }
}

Deno.test("project conv kernels free every intermediate on the backend (numDataIds unchanged)", async () => {
  for (const backend of ["cpu", "wasm"] as const) {
    await runOn(backend, false, () => []);
    for (const c of CASES) {
      const f = convGrads(c, 90);
      tf.tidy(f); // warm-up: kernels may set up caches on first use
      const before = tf.engine().backend.numDataIds();
      const tensorsBefore = tf.memory().numTensors;
      tf.dispose(tf.tidy(f));
      assert.equal(tf.memory().numTensors, tensorsBefore, `${backend} ${c.name}: tensors`);
      assert.equal(tf.engine().backend.numDataIds(), before, `${backend} ${c.name}: backend data`);
    }
  }
});

// The planes method (wasm, stride 1, or filter = stride): one plane buffer for all taps. Cases cover
// 'same' with symmetric (3×3) and asymmetric (2×2: bottom/right only) padding, 'valid', 1×1, odd
// channel counts, and image groups of one (a tiny plane limit) as well as all images at once.
const PLANE_CASES: ConvCase[] = [
  { name: "3x3 same 7x9 cin 3", n: 3, h: 7, w: 9, cin: 3, cout: 4, k: 3, stride: 1, pad: "same" },
  { name: "2x2 same 5x6 cin 5", n: 2, h: 5, w: 6, cin: 5, cout: 2, k: 2, stride: 1, pad: "same" },
  { name: "3x3 valid 6x5", n: 2, h: 6, w: 5, cin: 4, cout: 4, k: 3, stride: 1, pad: "valid" },
  { name: "1x1 5x4", n: 3, h: 5, w: 4, cin: 7, cout: 8, k: 1, stride: 1, pad: "same" },
  // filter size = stride, no padding: the space-to-depth matmul (kh·kw·Cin % 4, Cout % 8)
  { name: "2x2 s2 valid 6x10", n: 2, h: 6, w: 10, cin: 3, cout: 8, k: 2, stride: 2, pad: "valid" },
  { name: "3x3 s3 valid 6x9", n: 1, h: 6, w: 9, cin: 4, cout: 16, k: 3, stride: 3, pad: "valid" },
];

for (const maxElements of [1, 1 << 24]) {
  Deno.test(`wasm planes filter gradient (≤ ${maxElements} plane floats a group) equals stock cpu without falling back`, async () => {
    await checkWasmFilterGrad(PLANE_CASES, 110, ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as {
        strides: number;
        pad: "same" | "valid";
        filterShape: [number, number, number, number];
      };
      const x = inputs.x as tf.TensorInfo;
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        a.filterShape,
        a.strides,
        1,
        a.pad,
      );
      const out = conv2dBackpropFilterPlanes(
        backend as tf.KernelBackend,
        x,
        inputs.dy as tf.TensorInfo,
        info,
        maxElements,
      );
      if (out === undefined) throw new Error("planes method did not apply");
      return out;
    });
  });
}
