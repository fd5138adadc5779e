/**
 * Every 3×3 convolution shape of the benchmark U-Nets on wasm, two ways each, in interleaved
 * rounds: the convolution (forward, Cin → Cout, and the input gradient's, Cout → Cin) by XNNPACK's
 * direct convolution (tfjs-backend-wasm's stock `Conv2D`) against this project's Winograd
 * F(2×2, 3×3), and the filter gradient by the planes method (`dw_gemm`) against Winograd
 * F(3×3, 2×2) (`src/runtime/kernels/conv2d_winograd.ts`). Prints the medians, the ratio and which
 * one `winogradWins` picks. Before timing, both results are compared (relative L2 ≤ 1e-5). Not
 * part of the tests.
 *
 *     deno run -A bench/winograd_bench.ts [--base 16|64] [--rounds 5]
 *     VESSEL_SEG_WASM_FMA=0 deno run -A bench/winograd_bench.ts      # plain SIMD, no fused madd
 *     VESSEL_SEG_WASM_THREADS=1 deno run -A bench/winograd_bench.ts  # one thread
 *
 * Base 16: batch 4 × 256² (`bench/train_step_bench.ts`'s default step); base 64: batch 8 × 128²
 * (the study's widths at the side-by-side's size).
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/runtime/backends.ts";
import { forceWinograd, winogradWins } from "../src/runtime/kernels/conv2d_winograd.ts";
import { wasmFma } from "../src/runtime/kernels/wasm_ops.ts";
import { randomArray, relL2 } from "../src/runtime/kernels/testing.ts";

const { values } = parseArgs({
  options: { base: { type: "string", default: "16" }, rounds: { type: "string", default: "5" } },
});
const base = Number(values.base), rounds = Number(values.rounds);
const [n, size] = base >= 64 ? [8, 128] : [4, 256];

tf.enableProdMode();
const info = await initBackend("wasm");
const threads = /(\d+) thread/.exec(info.reason)?.[1] ?? "?";

/** [H, Cin, Cout] of each distinct 3×3 layer of a depth-4 U-Net (encoder, then decoder). */
function layers(): [number, number, number][] {
  const out: [number, number, number][] = [];
  const seen = new Set<string>();
  const add = (h: number, ci: number, co: number) => {
    const key = `${h}/${ci}/${co}`;
    if (!seen.has(key)) out.push([h, ci, co]), seen.add(key);
  };
  for (let k = 0; k <= 4; k++) {
    const c = base * 2 ** k, h = size / 2 ** k;
    if (k > 0) add(h, c / 2, c);
    add(h, c, c);
  }
  for (let k = 3; k >= 0; k--) {
    const c = base * 2 ** k, h = size / 2 ** k;
    add(h, 2 * c, c);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

type Op = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor;
const conv: Op = (x, w) => tf.conv2d(x, w, 1, "same");
const filterGrad: Op = (x, dy) =>
  tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
    strides: 1,
    pad: "same",
    dataFormat: "NHWC",
    filterShape: [3, 3, x.shape[3], dy.shape[3]],
  }) as tf.Tensor;

function time(op: Op, a: tf.Tensor4D, b: tf.Tensor4D, wino: boolean): [number, tf.Tensor] {
  forceWinograd(wino);
  const t0 = performance.now();
  const y = op(a, b);
  y.dataSync(); // wasm kernels run synchronously; this only fences
  return [performance.now() - t0, y];
}

/** Median ms of `op` both ways (direct first in even rounds), after two warm-up calls each. */
function compare(op: Op, a: tf.Tensor4D, b: tf.Tensor4D, what: string): [number, number] {
  const [, y0] = time(op, a, b, false), [, y1] = time(op, a, b, true);
  const err = relL2(y1.dataSync() as Float32Array, y0.dataSync() as Float32Array);
  tf.dispose([y0, y1]);
  if (!(err <= 1e-5)) throw new Error(`${what}: Winograd differs, relative L2 ${err}`);
  const t: Record<string, number[]> = { d: [], w: [] };
  for (let r = -1; r < rounds; r++) {
    for (const wino of r % 2 === 0 ? [false, true] : [true, false]) {
      const [ms, y] = time(op, a, b, wino);
      y.dispose();
      if (r >= 0) t[wino ? "w" : "d"].push(ms);
    }
  }
  forceWinograd(undefined);
  return [median(t.d), median(t.w)];
}

console.log(
  `wasm, ${threads} thread(s), fused madd ${wasmFma() ? "on" : "off"}; batch ${n}, ` +
    `${rounds} rounds, median ms; load average ${
      (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ").slice(0, 3).join(" ")
    }`,
);
console.log(
  "| H² | Cin → Cout | GFLOP | XNNPACK | Winograd | speed-up | filter grad: planes | Winograd | " +
    "speed-up | picked |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const [h, a, b] of layers()) {
  for (const [ci, co] of [[a, b], [b, a]]) {
    if (ci % 4 !== 0 || co % 8 !== 0) continue;
    const x = tf.tensor4d(randomArray(1, n * h * h * ci), [n, h, h, ci]);
    const w = tf.tensor4d(
      randomArray(2, 9 * ci * co).map((v) => v / Math.sqrt(9 * ci)),
      [3, 3, ci, co],
    );
    const dy = tf.tensor4d(randomArray(3, n * h * h * co), [n, h, h, co]);
    const what = `${h}² ${ci}→${co}`;
    const [d, wi] = compare(conv, x, w, what);
    const [pd, pw] = compare(filterGrad, x, dy, `${what} filter gradient`);
    const gflop = (2 * 9 * ci * co * n * h * h) / 1e9;
    const f = (v: number) => v.toFixed(1);
    console.log(
      `| ${h}² | ${ci} → ${co} | ${gflop.toFixed(2)} | ${f(d)} | ${f(wi)} | ${
        (d / wi).toFixed(2)
      }× | ` +
        `${f(pd)} | ${f(pw)} | ${(pd / pw).toFixed(2)}× | ` +
        `${winogradWins(ci, co) ? "Winograd" : "direct"} |`,
    );
    tf.dispose([x, w, dy]);
  }
}
