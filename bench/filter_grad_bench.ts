/**
 * The wasm filter gradient (`Conv2DBackpropFilter`) of the benchmark U-Net's 3×3 layers, two ways,
 * one group per layer: `planes` (the default: channel-major planes of a padded grid and this
 * project's blocked matmul `dw_gemm`, `src/runtime/kernels/wasm_ops.wat`) against `taps` (the
 * earlier method: one copy per filter tap and XNNPACK's `BatchMatMul`, which tfjs 4.22 runs on
 * one thread), the baseline. Before timing, both are compared with each other (relative L2 ≤
 * 1e-5), so the table never times a wrong answer.
 *
 *     VESSEL_SEG_WASM_THREADS=1 deno bench -A bench/filter_grad_bench.ts   # one core each
 *     deno bench -A bench/filter_grad_bench.ts                             # default threads
 *
 * Each layer's FLOPs (2 per multiply-add): 2 · 9 · Cin · Cout · N·H·W.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/runtime/backends.ts";
import { makeConv2DBackpropFilterMatMul } from "../src/runtime/kernels/conv2d_backprop_filter.ts";
import { relL2 } from "../src/runtime/kernels/testing.ts";

await initBackend("wasm");
const backend = tf.backend();

/** [N, H, W, Cin, Cout] of the depth-4, base-16 U-Net at 4 × 256². */
const LAYERS: [number, number, number, number, number][] = [
  [4, 256, 256, 16, 16],
  [4, 256, 256, 32, 16],
  [4, 128, 128, 32, 32],
  [4, 64, 64, 64, 64],
  [4, 32, 32, 128, 128],
  [4, 16, 16, 256, 256],
];

const methods = {
  planes: makeConv2DBackpropFilterMatMul({
    maxRows: 1 << 20,
    maxColElements: 1 << 24,
    method: "planes",
  }),
  taps: makeConv2DBackpropFilterMatMul({
    maxRows: 1 << 20,
    maxColElements: 1 << 24,
    method: "taps",
  }),
};

for (const [n, h, w, ci, co] of LAYERS) {
  const x = tf.randomNormal([n, h, w, ci], 0, 1, "float32", 1);
  const dy = tf.randomNormal([n, h, w, co], 0, 1, "float32", 2);
  const args = {
    inputs: { x, dy },
    backend,
    attrs: {
      strides: 1,
      pad: "same",
      dataFormat: "NHWC",
      dimRoundingMode: undefined,
      filterShape: [3, 3, ci, co],
    },
  } as unknown as Parameters<tf.KernelFunc>[0];
  const run = (m: tf.KernelFunc) => {
    const out = m(args) as tf.TensorInfo;
    const v = Float32Array.from(backend.readSync(out.dataId) as Float32Array);
    backend.disposeData(out.dataId);
    return v;
  };
  const err = relL2(run(methods.planes), run(methods.taps));
  if (!(err <= 1e-5)) throw new Error(`${ci}→${co}: planes and taps differ (relative L2 ${err})`);
  const gflop = (2 * 9 * ci * co * n * h * w / 1e9).toFixed(2);
  const group = `${n}×${h}²×${ci}→${co} (${gflop} GFLOP)`;
  Deno.bench({ name: "taps + XNNPACK BatchMatMul", group, baseline: true }, () => {
    run(methods.taps);
  });
  Deno.bench({ name: "planes + dw_gemm", group }, () => {
    run(methods.planes);
  });
}
