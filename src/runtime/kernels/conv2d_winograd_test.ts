import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { forceWinograd, winogradBlock, winogradCalls } from "./conv2d_winograd.ts";
import { randomArray, relL2, runOn } from "./testing.ts";

interface Case {
  name: string;
  x: [number, number, number, number];
  cout: number;
  pad: "same" | "valid" | [[0, 0], [number, number], [number, number], [0, 0]];
  bias?: boolean;
  act?: "relu" | "linear";
}

// Odd sizes (a last tile half outside), padding of every kind, more tiles than one block.
const CASES: Case[] = [
  { name: "same 7×9, 4 → 8", x: [2, 7, 9, 4], cout: 8, pad: "same" },
  { name: "valid 6×5, 8 → 16", x: [1, 6, 5, 8], cout: 16, pad: "valid" },
  {
    name: "explicit (2, 0) (0, 1) 5×6, 4 → 8",
    x: [1, 5, 6, 4],
    cout: 8,
    pad: [[0, 0], [2, 0], [0, 1], [0, 0]],
  },
  {
    name: "same 33×31, 16 → 16, bias + relu",
    x: [2, 33, 31, 16],
    cout: 16,
    pad: "same",
    bias: true,
    act: "relu",
  },
  { name: "same 1×1 image, 12 → 24, bias", x: [3, 1, 1, 12], cout: 24, pad: "same", bias: true },
  { name: "same 64×64, 32 → 64", x: [1, 64, 64, 32], cout: 64, pad: "same" },
];

function conv(c: Case): () => tf.Tensor[] {
  const ci = c.x[3];
  const xa = randomArray(11, c.x.reduce((p, q) => p * q));
  const wa = randomArray(12, 9 * ci * c.cout).map((v) => v / Math.sqrt(9 * ci));
  const ba = randomArray(13, c.cout);
  return () => {
    const x = tf.tensor4d(xa, c.x);
    const w = tf.tensor4d(wa, [3, 3, ci, c.cout]);
    if (c.bias === undefined && c.act === undefined) return [tf.conv2d(x, w, 1, c.pad)];
    return [tf.fused.conv2d({
      x,
      filter: w,
      strides: 1,
      pad: c.pad,
      bias: c.bias ? tf.tensor1d(ba) : undefined,
      activation: c.act ?? "linear",
    })];
  };
}

for (const c of CASES) {
  Deno.test(`Winograd conv2d (wasm) vs cpu: ${c.name}`, async () => {
    forceWinograd(true);
    try {
      const [want] = await runOn("cpu", true, conv(c));
      const before = winogradCalls();
      const [got] = await runOn("wasm", false, conv(c));
      assert.equal(winogradCalls(), before + 1);
      // Winograd's transforms add and subtract partial sums before the products are summed:
      // float32 error grows with the number of terms, a few 1e-7 relative here.
      const err = relL2(got, want);
      console.log(`relative L2 ${err.toExponential(2)}`);
      assert.ok(err < 2e-6, `relative L2 ${err}`);
    } finally {
      forceWinograd(undefined);
    }
  });
}

Deno.test("Winograd by hand: a 4×4 image, one channel block, 3×3 ones filter", async () => {
  // x[y][x] = 4y + x + 1 in channel 0 (channels 1–3 zero), filter all ones on channel 0 → each
  // output is the sum of its 3×3 'valid' window: 1+2+3+5+6+7+9+10+11 = 54, then 63, 90, 99.
  forceWinograd(true);
  try {
    const xa = new Float32Array(16 * 4);
    for (let i = 0; i < 16; i++) xa[i * 4] = i + 1;
    const wa = new Float32Array(9 * 4 * 8);
    for (let t = 0; t < 9; t++) wa[t * 32] = 1;
    const before = winogradCalls();
    const [y] = await runOn(
      "wasm",
      false,
      () => [tf.conv2d(tf.tensor4d(xa, [1, 4, 4, 4]), tf.tensor4d(wa, [3, 3, 4, 8]), 1, "valid")],
    );
    assert.equal(winogradCalls(), before + 1);
    assert.deepEqual([y[0], y[8], y[16], y[24]], [54, 63, 90, 99]);
    assert.deepEqual([...y].filter((_, i) => i % 8 !== 0), new Array(28).fill(0));
  } finally {
    forceWinograd(undefined);
  }
});

Deno.test("Winograd gradients (wasm) vs cpu: input and filter of a 3×3 'same' layer", async () => {
  const xa = randomArray(21, 2 * 9 * 10 * 8), wa = randomArray(22, 9 * 8 * 16);
  const f = () => {
    const x = tf.tensor4d(xa, [2, 9, 10, 8]), w = tf.tensor4d(wa, [3, 3, 8, 16]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same").square().sum()
    );
    return g([x, w]);
  };
  forceWinograd(true);
  try {
    const want = await runOn("cpu", true, f);
    const before = winogradCalls();
    const got = await runOn("wasm", false, f);
    assert.equal(winogradCalls(), before + 3); // forward, input gradient, filter gradient
    for (let i = 0; i < 2; i++) assert.ok(relL2(got[i], want[i]) < 2e-6, `grad ${i}`);
  } finally {
    forceWinograd(undefined);
  }
});

Deno.test("winogradBlock keeps a block's buffers near 512 KiB, 8–128 tiles, a multiple of 4", () => {
  assert.equal(winogradBlock(16, 16), 128);
  assert.equal(winogradBlock(64, 64), 64);
  assert.equal(winogradBlock(256, 256), 16);
  assert.equal(winogradBlock(1024, 512), 8);
});

const FILTER_CASES: Case[] = [
  { name: "same 7×9, 4 → 8", x: [2, 7, 9, 4], cout: 8, pad: "same" },
  { name: "valid 6×5, 8 → 16", x: [1, 6, 5, 8], cout: 16, pad: "valid" },
  {
    name: "explicit (2, 0) (0, 1) 5×6, 4 → 8",
    x: [1, 5, 6, 4],
    cout: 8,
    pad: [[0, 0], [2, 0], [0, 1], [0, 0]],
  },
  { name: "same 1×1 image, 12 → 24", x: [3, 1, 1, 12], cout: 24, pad: "same" },
  { name: "same 64×48, 16 → 32 (two threads' sums)", x: [3, 64, 48, 16], cout: 32, pad: "same" },
];

for (const c of FILTER_CASES) {
  Deno.test(`Winograd filter gradient (wasm) vs cpu: ${c.name}`, async () => {
    const ci = c.x[3];
    const info = tf.backend_util.computeConv2DInfo(c.x, [3, 3, ci, c.cout], 1, 1, c.pad);
    const dyShape: [number, number, number, number] = [
      c.x[0],
      info.outHeight,
      info.outWidth,
      c.cout,
    ];
    const xa = randomArray(31, c.x.reduce((p, q) => p * q));
    const dya = randomArray(32, dyShape.reduce((p, q) => p * q));
    const f = () => [
      tf.engine().runKernel("Conv2DBackpropFilter", {
        x: tf.tensor4d(xa, c.x),
        dy: tf.tensor4d(dya, dyShape),
      }, {
        strides: 1,
        pad: c.pad,
        dataFormat: "NHWC",
        filterShape: [3, 3, ci, c.cout],
      }) as tf.Tensor,
    ];
    forceWinograd(true);
    try {
      const [want] = await runOn("cpu", false, f);
      const before = winogradCalls();
      const [got] = await runOn("wasm", false, f);
      assert.equal(winogradCalls(), before + 1);
      // Each weight sums N·H·W products (9 216 in the largest case) in float32, against the
      // project cpu kernel's float64 sums: ≈ 1e-6 measured; the bound leaves 10× for other seeds.
      const err = relL2(got, want);
      console.log(`relative L2 ${err.toExponential(2)}`);
      assert.ok(err < 1e-5, `relative L2 ${err}`);
    } finally {
      forceWinograd(undefined);
    }
  });
}
