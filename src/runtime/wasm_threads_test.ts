// The wasm module is built once per process, so each build (single-threaded, threaded) is checked
// in a child process (this file run with `deno run THREADS`, see the `import.meta.main` block)
// and compared there with the stock cpu backend.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, wantedWasmThreads } from "./backends.ts";
import { randomArray, relL2 } from "./kernels/testing.ts";
import { wasmOpsHelperFor } from "./kernels/wasm_ops.ts";

/** What the child reports. */
interface ChildReport {
  reason: string;
  globalsRestored: boolean;
  /** Whether the project's wasm kernels got their helper thread. */
  helper: boolean;
  /** What a ≈ 4 GiB tensor allocation threw (the heap cannot hold it). */
  oom: string;
  /** Relative L2 of wasm (threaded) against cpu, per quantity. */
  err: Record<string, number>;
}

/** Forward conv, both conv gradients and a matmul on the active backend (odd shapes). */
async function compute(): Promise<Record<string, Float32Array>> {
  const x = tf.tensor4d(randomArray(1, 2 * 33 * 35 * 5), [2, 33, 35, 5]);
  const w = tf.tensor4d(randomArray(2, 3 * 3 * 5 * 7), [3, 3, 5, 7]);
  const a = tf.tensor2d(randomArray(3, 257 * 129), [257, 129]);
  const b = tf.tensor2d(randomArray(4, 129 * 65), [129, 65]);
  const f = (xx: tf.Tensor, ww: tf.Tensor) =>
    tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, "same")));
  const y = tf.conv2d(x, w, 1, "same");
  const [dx, dw] = tf.grads(f)([x, w]);
  const mm = tf.matMul(a, b);
  // Channel counts the project's blocked filter-gradient matmul takes (Cin % 4, Cout % 8), large
  // enough to be split with the helper thread; then the memory-bound kernels on the shared heap.
  const x2 = tf.tensor4d(randomArray(5, 2 * 17 * 19 * 8), [2, 17, 19, 8]);
  const w2 = tf.tensor4d(randomArray(6, 3 * 3 * 8 * 16), [3, 3, 8, 16]);
  const [dw2] = tf.grads((ww: tf.Tensor) => f(x2, ww))([w2]);
  // A 2×2 stride-2 transposed convolution's filter gradient (the space-to-depth matmul).
  const u = tf.tensor4d(randomArray(10, 2 * 12 * 12 * 16), [2, 12, 12, 16]);
  const wu = tf.tensor4d(randomArray(11, 2 * 2 * 8 * 16), [2, 2, 8, 16]);
  const [dwu] = tf.grads((ww: tf.Tensor) =>
    tf.sum(tf.square(tf.conv2dTranspose(u, ww as tf.Tensor4D, [2, 24, 24, 8], 2, "valid")))
  )([wu]);
  // 2 × 64² × 32 = 2¹⁸ elements: large enough for the row-split kernels to use the helper.
  const x3 = tf.tensor4d(randomArray(7, 2 * 64 * 64 * 32), [2, 64, 64, 32]);
  const gamma = tf.tensor1d(randomArray(8, 32)), beta = tf.tensor1d(randomArray(9, 32));
  const dbn = tf.grad((v: tf.Tensor) => {
    const { mean, variance } = tf.moments(v, [0, 1, 2]);
    const n = tf.relu(tf.batchNorm(v, mean, variance, beta, gamma, 1e-5));
    const p = tf.maxPool(n as tf.Tensor4D, 2, 2, "valid");
    const [a, b] = tf.split(tf.concat([p, tf.mul(p, 2)], -1), [16, 48], -1);
    return tf.add(tf.sum(tf.square(a)), tf.sum(tf.mul(b, tf.sub(b, tf.mean(b, [0, 1, 2])))));
  })(x3);
  const out = {
    conv: await y.data() as Float32Array,
    dx: await dx.data() as Float32Array,
    dw: await dw.data() as Float32Array,
    matMul: await mm.data() as Float32Array,
    dwBlocked: await dw2.data() as Float32Array,
    dwTransposed: await dwu.data() as Float32Array,
    batchNormPool: await dbn.data() as Float32Array,
  };
  tf.dispose([x, w, a, b, y, dx, dw, mm, x2, w2, dw2, u, wu, dwu, x3, gamma, beta, dbn]);
  return out;
}

async function child(): Promise<ChildReport> {
  const g = globalThis as unknown as Record<string, unknown>;
  const before = [g.Worker, g.Blob, URL.createObjectURL];
  const info = await initBackend("wasm", { wasmThreads: Number(Deno.args[0]) });
  const after = [g.Worker, g.Blob, URL.createObjectURL];
  const helper = wasmOpsHelperFor(tf.backend()) !== undefined;
  const wasm = await compute();
  let oom = "nothing";
  try {
    (tf.backend() as unknown as { makeOutput(s: number[], d: string): unknown }).makeOutput(
      [2 ** 30 - 1024],
      "float32",
    );
  } catch (e) {
    oom = `${(e as Error).name}: ${(e as Error).message}`;
  }
  await initBackend("cpu", { stockKernels: true });
  const cpu = await compute();
  const err: Record<string, number> = {};
  for (const k of Object.keys(cpu)) err[k] = relL2(wasm[k], cpu[k]);
  return {
    reason: info.reason,
    globalsRestored: before.every((v, i) => v === after[i]),
    helper,
    oom,
    err,
  };
}

if (import.meta.main) {
  console.log(JSON.stringify(await child()));
  Deno.exit(0);
}

for (const threads of [1, 2]) {
  const what = threads === 1
    ? "the single-threaded SIMD build (plain heap, no helper thread)"
    : "the threaded SIMD build with 2 threads (and the project's helper thread)";
  Deno.test(`wasm threads: ${what} matches cpu`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, String(threads)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    const report = JSON.parse(lines[lines.length - 1]) as ChildReport;
    assert.match(report.reason, threads === 1 ? /SIMD, 1 thread\b/ : /SIMD, 2 threads/);
    assert.ok(report.globalsRestored, "Worker, Blob and URL.createObjectURL are put back");
    assert.equal(report.helper, threads > 1, "helper thread only on the shared heap");
    assert.match(report.oom, /^ResourceError: the wasm heap is full/);
    const worst = Math.max(...Object.values(report.err));
    assert.ok(worst <= 1e-4, `relative L2 vs cpu: ${JSON.stringify(report.err)}`);
  });
}

Deno.test("wasm threads: wantedWasmThreads takes 1..8 and rejects the rest", () => {
  assert.equal(wantedWasmThreads(1), 1);
  assert.equal(wantedWasmThreads(3), 3);
  assert.throws(() => wantedWasmThreads(0), /expected an integer in 1\.\.8, found 0/);
  assert.throws(() => wantedWasmThreads(9), /found 9/);
  assert.throws(() => wantedWasmThreads(1.5), /found 1.5/);
});
